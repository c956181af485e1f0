/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Outlier detection's datapath rows (datapath/outlier.h) over the global
 * services' fixture (lbtest.h), for either family: test_lb and test_lb6
 * each run them as one of their extra tests.
 */
#ifndef MG_TEST_LBT_OUTLIER_H
#define MG_TEST_LBT_OUTLIER_H

/*
 * New flows to a remote backend (replies on decap) and to a local one
 * (replies after SNAT) answered by a RST, a SYN-ACK, later packets: each
 * flow's first answer counts once, against the flow's backend slot; a
 * client's SYN again to an unanswered flow counts a failure.
 */
void lbt_outlier_counts(void **state);

#endif
