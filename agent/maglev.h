/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Weighted Maglev consistent hashing (Eisenbud et al., NSDI 2016, §3.4):
 * the lookup table a global service's flows are hashed into.  Pure logic;
 * the services code writes the table into the datapath's maps.
 */
#ifndef MG_MAGLEV_H
#define MG_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Table sizes must be prime; these two are the supported presets. */
#define MG_MAGLEV_SIZE_SMALL	16381
#define MG_MAGLEV_SIZE_LARGE	65537
#define MG_MAGLEV_SIZE_DEFAULT	MG_MAGLEV_SIZE_SMALL

#define MG_MAGLEV_WEIGHT_MAX	65535
/* A table entry that names no backend (no backend has a weight). */
#define MG_MAGLEV_EMPTY		0xffffffffu

struct mg_maglev_backend {
	__u64 id;	/* stable, unique: mg_maglev_backend_id() of its key */
	__u32 weight;	/* 0 = left out of the table, else 1..65535 */
};

/**
 * mg_maglev_backend_id() - stable 64-bit id of a backend
 * @key: bytes that name the backend (e.g. address, port and cluster id in a
 *       packed struct with zeroed padding)
 * @len: length of @key
 *
 * SipHash-2-4 under a fixed, public key: the same on every run and every
 * machine, so every gateway builds the same table from the same backends.
 *
 * Return: the id.
 */
__u64 mg_maglev_backend_id(const void *key, size_t len);

/**
 * mg_maglev_is_prime() - tell whether @n is prime
 * @n: a candidate table size
 *
 * Return: true when @n is prime.
 */
bool mg_maglev_is_prime(unsigned int n);

/**
 * mg_maglev_build() - fill a Maglev lookup table
 * @b:          the backends, in any order
 * @n:          number of entries in @b
 * @table_size: number of slots in @table; prime, and at least the number
 *              of backends with a weight
 * @table:      out: each slot holds an index into @b, or MG_MAGLEV_EMPTY
 *              in every slot when no backend has a weight
 *
 * Each backend gets a share of the slots proportional to its weight (within
 * a slot or two).  The table depends only on the set of (id, weight) pairs:
 * neither on the order of @b (only the indices written change with it) nor
 * on the run or the machine.  Removing one backend moves its own slots and
 * few others.
 *
 * Return: 0, -EINVAL when @table_size is not prime, a weight is above
 * MG_MAGLEV_WEIGHT_MAX or two weighted backends share an id, -E2BIG when
 * there are more weighted backends than slots, -ENOMEM.
 */
int mg_maglev_build(const struct mg_maglev_backend *b, unsigned int n,
		    unsigned int table_size, __u32 *table);

#endif
