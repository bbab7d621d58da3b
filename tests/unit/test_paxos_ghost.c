/*
 * test_paxos_ghost.c: the paxos system's checks (systems/paxos/sys.c, the ghost) each fail on
 * the report that breaks them, and hold on the reports a correct run makes. The planted bugs
 * prove agreement, promise monotonicity and "cancelled => never decided" through whole runs
 * (test_paxos_scenarios.c); the other checks have no planted bug, so they are fed here, one
 * bad report at a time, through the ghost's own entry points (systems/paxos/px.h: the
 * unavoidable test hook).
 */
#include <stdlib.h>
#include <string.h>

#include "../../systems/paxos/px.h"
#include "../helpers.h"

static sim_world *world;
static px_world *pw;

static void setup(void)
{
    sim_world_desc d = {.seed = 1};
    cr_assert(eq(int, sim_world_new(&d, &world), SIM_OK));
    pw = calloc(1, sizeof *pw);
    cr_assert(ne(ptr, pw, NULL));
    pw->nodes = 3;
    pw->majority = 2;
    pw->policy = PX_POLICY_SAFE;
    /* Two proposals by n1 (#1, #2) and one by n2 (#3). */
    pw->next_counter = 3;
    pw->props[1].pid = 1;
    pw->props[2].pid = 1;
    pw->props[3].pid = 2;
}

static void teardown(void)
{
    free(pw);
    sim_world_free(world);
}

TestSuite(paxos_ghost, .init = setup, .fini = teardown);

static px_entry entry(uint32_t pid, uint32_t counter)
{
    return (px_entry){.kind = PX_ENTRY, .pid = pid, .counter = counter};
}

static void expect_failure(const char *words)
{
    cr_assert(ne(ptr, strstr(pw->failure, words), NULL), "failure: '%s'", pw->failure);
}

/* Goal: a correct run's reports leave no failure. Method: two nodes decide the same entries
 * in order, a future resolves at its index, a node recovers with its decided prefix. */
Test(paxos_ghost, correct_reports_pass)
{
    px_ghost_promise(pw, world, 0, (px_ballot){1, 1});
    px_ghost_accept(pw, world, 0, (px_ballot){1, 1});
    px_ghost_decide(pw, world, 0, 0, entry(1, 1));
    px_ghost_decide(pw, world, 1, 0, entry(1, 1));
    px_ghost_decide(pw, world, 0, 1, entry(2, 3));
    px_ghost_complete(pw, world, 0, 1, (px_outcome){PX_RESOLVED, 0, PX_WHY_NONE});
    px_node nd = {.pw = pw, .idx = 1, .promise = {1, 1}, .decided = 1, .len = 1};
    nd.log[0] = entry(1, 1);
    px_ghost_recover(pw, world, &nd);
    cr_assert(eq(str, pw->failure, ""));
    cr_assert(eq(u32, pw->chosen_len, 2));
}

/* Goal: agreement fails when two nodes decide different entries at one index. */
Test(paxos_ghost, agreement)
{
    px_ghost_decide(pw, world, 0, 0, entry(1, 1));
    px_ghost_decide(pw, world, 1, 0, entry(1, 2));
    expect_failure("agreement: n2 decided #2 at 0, another node #1");
}

/* Goal: validity fails for an entry nobody proposed (an unknown counter, or the wrong pid). */
Test(paxos_ghost, validity)
{
    px_ghost_decide(pw, world, 0, 0, entry(2, 1));
    expect_failure("validity: n1 decided at 0 an entry nobody proposed (#1 of n2)");
}

/* Goal: integrity fails when one proposal is decided at two indexes. */
Test(paxos_ghost, integrity)
{
    px_ghost_decide(pw, world, 0, 0, entry(1, 1));
    px_ghost_decide(pw, world, 0, 1, entry(1, 1));
    expect_failure("integrity: #1 decided at 0 and again at 1");
}

/* Goal: stability fails when a recovered node has fewer decided entries than it reported, or
 * different ones. */
Test(paxos_ghost, stability_lost_prefix)
{
    px_ghost_decide(pw, world, 0, 0, entry(1, 1));
    px_ghost_decide(pw, world, 0, 1, entry(1, 2));
    px_node nd = {.pw = pw, .idx = 0, .decided = 1, .len = 1};
    nd.log[0] = entry(1, 1);
    px_ghost_recover(pw, world, &nd);
    expect_failure("stability: n1 recovered with 1 decided entries, it had reported 2");
}

Test(paxos_ghost, stability_changed_entry)
{
    px_ghost_decide(pw, world, 0, 0, entry(1, 1));
    px_node nd = {.pw = pw, .idx = 1, .decided = 1, .len = 1};
    nd.log[0] = entry(1, 2);
    px_ghost_recover(pw, world, &nd);
    expect_failure("stability: n2 recovered #2 at decided index 0, #1 was decided there");
}

/* Goal: promise monotonicity fails on an accept below a ballot the node made known, and on
 * a recovery with a lower promise. */
Test(paxos_ghost, promise_monotonicity_accept)
{
    px_ghost_promise(pw, world, 2, (px_ballot){3, 2});
    px_ghost_accept(pw, world, 2, (px_ballot){2, 1});
    expect_failure("promise monotonicity: n3 accepted in (2,1) below the (3,2)");
}

Test(paxos_ghost, promise_monotonicity_recover)
{
    px_ghost_promise(pw, world, 0, (px_ballot){3, 2});
    px_node nd = {.pw = pw, .idx = 0, .promise = {2, 1}};
    px_ghost_recover(pw, world, &nd);
    expect_failure("promise monotonicity: n1 recovered with promise (2,1) after making (3,2)");
}

/* Goal: a future resolved at an index that holds another entry fails; so does one that
 * completes twice; and a cancelled entry that is decided (safe policy), in either order. */
Test(paxos_ghost, resolved_elsewhere)
{
    px_ghost_decide(pw, world, 0, 0, entry(1, 1));
    px_ghost_complete(pw, world, 0, 2, (px_outcome){PX_RESOLVED, 0, PX_WHY_NONE});
    expect_failure("future #2 resolved at 0, which holds #1");
}

Test(paxos_ghost, completed_twice)
{
    px_ghost_complete(pw, world, 0, 2, (px_outcome){PX_CANCELLED, 0, PX_WHY_RULE1});
    px_ghost_complete(pw, world, 0, 2, (px_outcome){PX_CANCELLED, 0, PX_WHY_RULE1});
    expect_failure("future #2 completed twice (cancelled, then cancelled)");
}

Test(paxos_ghost, cancelled_then_decided)
{
    px_ghost_complete(pw, world, 0, 1, (px_outcome){PX_CANCELLED, 0, PX_WHY_RULE1});
    cr_assert(eq(str, pw->failure, ""));
    px_ghost_decide(pw, world, 0, 0, entry(1, 1));
    expect_failure("cancelled entry decided: #1 (n1's future was cancelled on an AcceptSync of "
                   "a higher ballot (rule 1)) decided at 0");
}

Test(paxos_ghost, decided_then_cancelled)
{
    px_ghost_decide(pw, world, 0, 0, entry(1, 1));
    px_ghost_complete(pw, world, 0, 1, (px_outcome){PX_CANCELLED, 0, PX_WHY_RULE1});
    expect_failure("cancelled entry decided: n1 cancelled #1 on an AcceptSync of a higher "
                   "ballot (rule 1), decided at 0");
}

/* Goal: under the superseded heuristic a cancelled-looking outcome is not a failure: it is
 * "maybe decided", and counted when the entry was decided after all. */
Test(paxos_ghost, superseded_is_maybe)
{
    pw->policy = PX_POLICY_SUPERSEDED;
    px_ghost_complete(pw, world, 0, 1, (px_outcome){PX_SUPERSEDED, 0, PX_WHY_RULE1});
    px_ghost_decide(pw, world, 0, 0, entry(1, 1));
    cr_assert(eq(str, pw->failure, ""));
    cr_assert(eq(u32, pw->superseded_decided, 1));
}

/* Goal: only the first violation is kept, with its virtual time. */
Test(paxos_ghost, first_violation_kept)
{
    px_ghost_decide(pw, world, 0, 0, entry(2, 1));
    px_ghost_decide(pw, world, 1, 0, entry(1, 2));
    expect_failure("validity: ");
    expect_failure("(at 0.000000s)");
}
