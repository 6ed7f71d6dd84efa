/* Tests for status names/messages and the version functions.
 *
 * References: the enum constants themselves (stringified by the preprocessor,
 * so the expected name of every value is independent of the library's
 * table) and the RBM_VERSION_* macros of the generated header. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY(x) { x, #x }

static const struct {
    rbm_status value;
    const char *name;
} all_statuses[] = {
    ENTRY(RBM_OK),
    ENTRY(RBM_DONE),
    ENTRY(RBM_STOPPED),
    ENTRY(RBM_ERR_NULL),
    ENTRY(RBM_ERR_INVALID_ARGUMENT),
    ENTRY(RBM_ERR_SHAPE),
    ENTRY(RBM_ERR_NOT_FINITE),
    ENTRY(RBM_ERR_OUT_OF_RANGE),
    ENTRY(RBM_ERR_UNSUPPORTED),
    ENTRY(RBM_ERR_TOO_LARGE),
    ENTRY(RBM_ERR_STATE),
    ENTRY(RBM_ERR_NO_MEMORY),
    ENTRY(RBM_ERR_IO),
    ENTRY(RBM_ERR_BAD_FORMAT),
    ENTRY(RBM_ERR_NOT_NORMALIZABLE),
    ENTRY(RBM_ERR_NOT_CONVERGED),
    ENTRY(RBM_ERR_NUMERICAL),
    ENTRY(RBM_ERR_COLLECTIVE),
    ENTRY(RBM_ERR_INTERNAL),
};
#define N_STATUS (sizeof all_statuses / sizeof all_statuses[0])

/* Values that are not in the enum (including neighbours of real values). */
static const int unknown_values[] = {-1, 3, 4, 99, 108, 150, 199, 201, 299, 302, 399,
                                     403, 499, 501, 599, 899, 901, 1000, 123456, -100};
#define N_UNKNOWN (sizeof unknown_values / sizeof unknown_values[0])

static void test_status_values_are_documented(void **state)
{
    (void)state;
    /* The numeric values are part of the ABI. */
    assert_int_equal(RBM_OK, 0);
    assert_int_equal(RBM_DONE, 1);
    assert_int_equal(RBM_STOPPED, 2);
    assert_int_equal(RBM_ERR_NULL, 100);
    assert_int_equal(RBM_ERR_INVALID_ARGUMENT, 101);
    assert_int_equal(RBM_ERR_SHAPE, 102);
    assert_int_equal(RBM_ERR_NOT_FINITE, 103);
    assert_int_equal(RBM_ERR_OUT_OF_RANGE, 104);
    assert_int_equal(RBM_ERR_UNSUPPORTED, 105);
    assert_int_equal(RBM_ERR_TOO_LARGE, 106);
    assert_int_equal(RBM_ERR_STATE, 107);
    assert_int_equal(RBM_ERR_NO_MEMORY, 200);
    assert_int_equal(RBM_ERR_IO, 300);
    assert_int_equal(RBM_ERR_BAD_FORMAT, 301);
    assert_int_equal(RBM_ERR_NOT_NORMALIZABLE, 400);
    assert_int_equal(RBM_ERR_NOT_CONVERGED, 401);
    assert_int_equal(RBM_ERR_NUMERICAL, 402);
    assert_int_equal(RBM_ERR_COLLECTIVE, 500);
    assert_int_equal(RBM_ERR_INTERNAL, 900);
}

static void test_status_names(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_STATUS; i++) {
        const char *name = rbm_status_name(all_statuses[i].value);
        assert_non_null(name);
        if (strcmp(name, all_statuses[i].name) != 0)
            fail_msg("status %d: name \"%s\", expected \"%s\"", (int)all_statuses[i].value, name,
                     all_statuses[i].name);
        assert_string_not_equal(name, "RBM_UNKNOWN_STATUS");
        /* Static storage: the same pointer content on a second call. */
        assert_string_equal(rbm_status_name(all_statuses[i].value), name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(name, rbm_status_name(all_statuses[j].value)) == 0)
                fail_msg("statuses %d and %d share the name %s", (int)all_statuses[i].value,
                         (int)all_statuses[j].value, name);
    }
}

static void test_status_messages(void **state)
{
    (void)state;
    const char *unknown_msg = rbm_status_message((rbm_status)12345);
    assert_non_null(unknown_msg);
    for (size_t i = 0; i < N_STATUS; i++) {
        const char *msg = rbm_status_message(all_statuses[i].value);
        assert_non_null(msg);
        if (strlen(msg) < 4)
            fail_msg("status %s has a too short message \"%s\"", all_statuses[i].name, msg);
        /* one line */
        assert_null(strchr(msg, '\n'));
        /* not the generic text used for unknown values */
        if (strcmp(msg, unknown_msg) == 0)
            fail_msg("status %s has the unknown-status message \"%s\"", all_statuses[i].name,
                     msg);
        /* every status has its own description */
        for (size_t j = 0; j < i; j++)
            if (strcmp(msg, rbm_status_message(all_statuses[j].value)) == 0)
                fail_msg("statuses %s and %s share the message \"%s\"", all_statuses[i].name,
                         all_statuses[j].name, msg);
    }
}

static void test_status_unknown(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_UNKNOWN; i++) {
        rbm_status st = (rbm_status)unknown_values[i];
        const char *name = rbm_status_name(st);
        assert_non_null(name);
        if (strcmp(name, "RBM_UNKNOWN_STATUS") != 0)
            fail_msg("value %d: name \"%s\", expected RBM_UNKNOWN_STATUS", unknown_values[i], name);
        const char *msg = rbm_status_message(st);
        assert_non_null(msg);
        assert_true(strlen(msg) > 0);
    }
}

static void test_version(void **state)
{
    (void)state;
    assert_int_equal(rbm_version_number(), (uint32_t)RBM_VERSION_NUMBER);
    assert_int_equal(RBM_VERSION_NUMBER,
                     RBM_VERSION_MAJOR * 10000 + RBM_VERSION_MINOR * 100 + RBM_VERSION_PATCH);
    assert_true(RBM_VERSION_MINOR < 100 && RBM_VERSION_PATCH < 100);

    const char *s = rbm_version_string();
    assert_non_null(s);
    assert_string_equal(s, RBM_VERSION_STRING);

    char buf[64];
    snprintf(buf, sizeof buf, "%d.%d.%d", RBM_VERSION_MAJOR, RBM_VERSION_MINOR,
             RBM_VERSION_PATCH);
    assert_string_equal(s, buf);

    unsigned maj = 0, min = 0, pat = 0;
    assert_int_equal(sscanf(s, "%u.%u.%u", &maj, &min, &pat), 3);
    assert_int_equal(rbm_version_number(), maj * 10000u + min * 100u + pat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_values_are_documented),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_status_messages),
        cmocka_unit_test(test_status_unknown),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
