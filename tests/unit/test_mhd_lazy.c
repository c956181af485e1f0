// SPDX-License-Identifier: GPL-2.0-only
/*
 * libmicrohttpd opened on first use (agent/lib/mhd_lazy.c): the binary does
 * not load it at start (nor libsystemd), and the forwarded calls reach it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <microhttpd.h>

static bool loaded(const char *lib)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, lib) != NULL;
	fclose(f);
	return found;
}

static void test_loaded_on_first_use(void **state)
{
	static char body[] = "ok";
	struct MHD_Response *r;

	assert_false(loaded("libmicrohttpd"));
	assert_false(loaded("libsystemd"));
	assert_false(loaded("libgnutls"));
	r = MHD_create_response_from_buffer(2, body, MHD_RESPMEM_PERSISTENT);
	assert_non_null(r);
	assert_true(loaded("libmicrohttpd"));
	assert_int_equal(MHD_add_response_header(r, "Content-Type",
						 "text/plain"),
			 MHD_YES);
	MHD_destroy_response(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loaded_on_first_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
