/*
 * helpers.h: small helpers shared by the Criterion tests. Tests use the public API only.
 * Criterion 2.4.1's gt(T, a, b) means a >= b (it is written as the negation of lt): write
 * lt(T, b, a) for a > b; `make tidy` refuses gt() in tests/.
 */
#ifndef SIM_TEST_HELPERS_H
#define SIM_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* A world with the given seed and strategy and default limits. */
static inline sim_world *test_world(uint64_t seed, sim_sched_kind kind)
{
    sim_world_desc d = {.seed = seed, .sched = {.kind = kind}};
    sim_world *w = NULL;
    cr_assert(eq(int, sim_world_new(&d, &w), SIM_OK));
    return w;
}

/* A world from a full desc. */
static inline sim_world *test_world_desc(const sim_world_desc *d)
{
    sim_world *w = NULL;
    cr_assert(eq(int, sim_world_new(d, &w), SIM_OK));
    return w;
}

/* Spawns a task with a copied state; asserts success. */
static inline sim_join test_spawn(sim_world *w, const char *name, sim_node_id node,
                                  sim_poll_cb poll, sim_drop_cb drop, const void *state,
                                  size_t size)
{
    sim_join j;
    sim_task_desc d = {.name = name, .node = node, .poll = poll, .drop = drop, .state = state,
                       .state_size = size};
    cr_assert(eq(int, sim_spawn(w, &d, &j), SIM_OK));
    return j;
}

/* Spawns a task whose initial state holds handles that move to it (moves: SIM_MOVES(...),
 * addresses inside *state); asserts success. */
static inline sim_join test_spawn_moves(sim_world *w, const char *name, sim_node_id node,
                                        sim_poll_cb poll, const void *state, size_t size,
                                        const void *const *moves)
{
    sim_join j;
    sim_task_desc d = {.name = name, .node = node, .poll = poll, .state = state,
                       .state_size = size, .moves = moves};
    cr_assert(eq(int, sim_spawn(w, &d, &j), SIM_OK));
    return j;
}

/* Adds a node with a boot function (may be NULL); asserts success. */
static inline sim_node_id test_node(sim_world *w, const char *name, sim_boot_cb boot, void *ud)
{
    sim_node_desc d = {.name = name, .boot = boot, .boot_ud = ud};
    sim_node_id id;
    cr_assert(eq(int, sim_node_add(w, &d, &id), SIM_OK));
    return id;
}

/* Counts violations of a kind. */
static inline uint32_t test_violations(const sim_world *w, sim_violation_kind kind)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < sim_world_violation_count(w); i++) {
        const sim_violation *v = sim_world_violation(w, i);
        if (v != NULL && v->kind == kind) n++;
    }
    return n;
}

/* The last violation of a kind whose message contains needle (NULL: any), or NULL. */
static inline const sim_violation *test_violation_find(const sim_world *w,
                                                       sim_violation_kind kind,
                                                       const char *needle)
{
    const sim_violation *found = NULL;
    for (uint32_t i = 0; i < sim_world_violation_count(w); i++) {
        const sim_violation *v = sim_world_violation(w, i);
        if (v == NULL || v->kind != kind) continue;
        if (needle == NULL || strstr(v->message, needle) != NULL) found = v;
    }
    return found;
}

/* Runs the world to completion and asserts SIM_OK, printing the hang report otherwise. */
static inline void test_run_ok(sim_world *w)
{
    int rc = sim_world_run(w);
    cr_assert(eq(str, (char *)sim_result_name(rc), "SIM_OK"), "report:\n%s",
              sim_world_report(w));
}

static inline sim_stats test_stats(const sim_world *w)
{
    sim_stats st;
    sim_world_stats(w, &st);
    return st;
}

/* Channels, receivers and tokens still alive. */
static inline uint32_t test_objects_live(const sim_world *w)
{
    return test_stats(w).objects_live;
}

/* Timers armed and not cancelled. */
static inline uint32_t test_timers_armed(const sim_world *w)
{
    return test_stats(w).timers_armed;
}

/* Asserts that err starts with prefix and contains every word of the NULL-terminated list. */
static inline void assert_message(const char *err, const char *prefix, const char *const *words)
{
    char head[256];
    size_t n = strlen(prefix);
    cr_assert(lt(sz, n, sizeof head));
    snprintf(head, sizeof head, "%.*s", (int)n, err);
    cr_assert(eq(str, head, (char *)prefix), "whole message: %s", err);
    for (size_t i = 0; words != NULL && words[i] != NULL; i++) {
        cr_assert(ne(ptr, strstr(err, words[i]), NULL), "'%s' is not in: %s", words[i], err);
    }
}

/* A fresh directory base/NAME-XXXXXX for a host world's files; test_tmpdir_remove removes it
 * with everything in it. */
static inline void test_tmpdir(char *buf, size_t size, const char *base, const char *name)
{
    int n = snprintf(buf, size, "%s/%s-XXXXXX", base, name);
    cr_assert(lt(int, n, (int)size), "a temporary directory's name does not fit");
    cr_assert(not(eq(ptr, mkdtemp(buf), NULL)), "mkdtemp %s failed", buf);
}

static inline void test_tmpdir_remove(const char *dir)
{
    char cmd[512];
    cr_assert(lt(int, snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir), (int)sizeof cmd));
    cr_assert(eq(int, system(cmd), 0));
}

#endif
