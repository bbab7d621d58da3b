/*
 * test_shutdown_cli.c: the shutdown system (systems/shutdown/, docs/systems/shutdown.md) and
 * the cancellation sweep from the command line, run as a user would: the sim binary in a
 * fresh temporary directory per test, scenario files copied from SIM_SRC/scenarios/shutdown.
 *
 * What is checked: the clean scenario passes its seeds, and passes a cancellation sweep over
 * a few seeds; every planted-bug scenario is found by sim's own oracles, with the finding's
 * words (the ledger's sites, the overrun, the leak, the nested block_on, the deadlock); a
 * cancellation sweep finds callback-never on seed 1 and names the cancel_at of the failing
 * run, which replays from the printed command bit for bit; and the system refuses a
 * scenario without a shutdown signal.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../clitext.h"

TestSuite(shutdown_cli, .init = enter_dir, .fini = leave_dir);

/* Goal: the clean scenario passes every seed (leaks, overrun, uncollected errors and the
 * ledger on), and a cancellation sweep of seeds 1..3 passes too: the system keeps its
 * promises whichever task is aborted at whichever await. */
Test(shutdown_cli, clean_passes_and_survives_a_cancel_sweep)
{
    copy_scenario("shutdown/clean.ini");
    out r = SIM("run clean.ini --jobs 1");
    expect(&r, 0, WORDS("\n200 passed, 0 failed\n"));
    out_free(&r);
    r = SIM("run clean.ini --seeds 1..3 --cancel-sweep --jobs 1");
    expect(&r, 0, WORDS("(--cancel-sweep: a seed passes when every run of its sweep passes)",
                        "\n3 passed, 0 failed\n"));
    out_free(&r);
}

/* Goal: each planted bug is found by sim's own oracle, with words that say which. Method:
 * each bug scenario; exit 0 (expect = fail met) and its finding in the output. */
Test(shutdown_cli, planted_bugs_are_found)
{
    static const struct {
        const char *bug;
        const char *words;
    } cases[] = {
        {"select-loses-message", "\"reply to a request\" (made at systems/shutdown/shutdown.c:"},
        {"callback-never", "\"a call's completion callback\""},
        {"callback-twice", "discharged twice: first at systems/shutdown/shutdown.c:"},
        {"hang-on-failure", "deadlock: "},
        {"blocking-overrun", "shutdown overrun: 1 task(s) still alive 5.000000s after the "
                             "shutdown signal at 2.000000s"},
        {"nested-block-on", "nested block_on: sim_block_on called from inside task"},
        {"leak", "leak: alive at the run's end after the shutdown signal at 2.000000s: task"},
        {"timeout-no-callback", "\"a call's completion callback\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[96];
        snprintf(name, sizeof name, "shutdown/bug-%s.ini", cases[i].bug);
        copy_scenario(name);
        out r = SIM("run bug-%s.ini --jobs 1", cases[i].bug);
        expect(&r, 0, WORDS("found shutdown-bug-", cases[i].words));
        out_free(&r);
    }
}

/* Goal: --cancel-sweep finds callback-never on seed 1 without any other help (its random
 * cancellation off), names the run
 * by its cancel_at, and its replay command reproduces the failure. Method: sweep, take the
 * printed replay line of the first finding, run it. */
Test(shutdown_cli, cancel_sweep_finds_and_replays)
{
    copy_scenario("shutdown/bug-callback-never.ini");
    out r = SIM("run bug-callback-never.ini --seed 1 --cancel-sweep --jobs 1 --set "
                "scenario.cancel_one_in=0");
    expect(&r, 0, WORDS("found shutdown-bug-callback-never seed 1, scenario.cancel_at=",
                        "replay: sim replay --scenario bug-callback-never.ini --seed 1 --set "
                        "'scenario.cancel_one_in=0' --set 'scenario.cancel_at="));
    const char *at = strstr(r.text, "replay: sim replay");
    cr_assert(ne(ptr, (void *)at, NULL));
    at += strlen("replay: sim ");
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%.*s", (int)strcspn(at, "\n"), at);
    out_free(&r);
    cr_assert(eq(int, strncmp(cmd, "replay ", 7), 0), "%s", cmd);
    r = SIM("%s", cmd);
    expect(&r, 1, WORDS("violation: obligation: "));
    out_free(&r);
}

/* Goal: timeout-no-callback is found only by the other-branch kind of cancellation: its
 * scenario without branch_one_in passes 300 seeds under random, pct and fifo and with random
 * aborts (cancel_one_in = 5); --cancel-sweep on seed 1 passes every abort run and fails at a
 * branch_at run, whose replay fails the same way; sim explore finds it as a bK deviation and
 * its --schedule replays it. */
Test(shutdown_cli, only_the_branch_kind_finds_timeout_no_callback)
{
    copy_scenario("shutdown/bug-timeout-no-callback.ini");
    static const char *const sets[] = {"--strategy random", "--strategy pct",
                                       "--strategy fifo", "--set scenario.cancel_one_in=5"};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        out r = SIM("run bug-timeout-no-callback.ini --seeds 1..300 --jobs 1 --quiet --set "
                    "scenario.branch_one_in=0 %s", sets[i]);
        expect(&r, 1, WORDS("\n300 passed, 0 failed\n"));
        out_free(&r);
    }
    out r = SIM("run bug-timeout-no-callback.ini --seed 1 --cancel-sweep --jobs 1 --set "
                "scenario.branch_one_in=0");
    expect(&r, 0, WORDS("found shutdown-bug-timeout-no-callback seed 1, scenario.branch_at=",
                        "was never discharged"));
    cr_assert(eq(ptr, (void *)strstr(r.text, "scenario.cancel_at="), NULL), "%s", r.text);
    const char *at = strstr(r.text, "replay: sim replay");
    cr_assert(ne(ptr, (void *)at, NULL));
    at += strlen("replay: sim ");
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%.*s", (int)strcspn(at, "\n"), at);
    out_free(&r);
    r = SIM("%s", cmd);
    expect(&r, 1, WORDS("violation: obligation: "));
    out_free(&r);
    r = SIM("explore bug-timeout-no-callback.ini --seed 1 --bound 1 --set "
            "scenario.branch_one_in=0");
    expect(&r, 1, WORDS("FAIL  shutdown-bug-timeout-no-callback seed 1, schedule b",
                        "replay: sim explore bug-timeout-no-callback.ini --seed 1 --schedule 'b"));
    at = strstr(r.text, "replay: sim ");
    cr_assert(ne(ptr, (void *)at, NULL));
    at += strlen("replay: sim ");
    snprintf(cmd, sizeof cmd, "%.*s", (int)strcspn(at, "\n"), at);
    out_free(&r);
    r = SIM("%s", cmd);
    expect(&r, 1, WORDS("seed 1, schedule b", "was never discharged"));
    out_free(&r);
}

/* Goal: random cancellation is a fault kind: [faults] cancel = 1/20 (with the scenario's
 * cancel_one_in off) finds callback-twice on seed 3; the run's faults are task/cancel hits
 * with the plan "cancel=0.05"; sim shrink turns the random run into the fifo schedule with
 * only the cancellation that matters ([schedule] cancel, no fault left);
 * swarm draws the kind per seed; [faults] branch = 1/20 finds timeout-no-callback. */
Test(shutdown_cli, cancel_is_a_fault_kind)
{
    copy_scenario("shutdown/bug-callback-twice.ini");
    out r = SIM("run bug-callback-twice.ini --seed 3 --jobs 1 --db t.db --set "
                "scenario.cancel_one_in=0 --set faults.cancel=1/20");
    expect(&r, 0, WORDS("found shutdown-bug-callback-twice seed 3", "discharged twice",
                        "faults: cancel=0.05"));
    out_free(&r);
    r = SIM("show --db t.db 1 --faults");
    expect(&r, 0, WORDS("plan: cancel=0.05", "fire       task/cancel"));
    out_free(&r);
    r = SIM("shrink --db t.db 1");
    expect(&r, 0, WORDS("[faults] only: the 0 fault hit(s) kept, no others",
                        "[schedule]: the fifo strategy but 0 forced decision(s), 1 cancellation(s)",
                        "discharged twice"));
    out_free(&r);
    r = SIM("run bug-callback-twice.ini --seeds 1..20 --jobs 1 --quiet --set "
            "scenario.cancel_one_in=0 --set faults.cancel=1/20 --set faults.swarm=true");
    /* swarm switches the kind off on about half the seeds: fewer of them fail */
    expect(&r, 0, WORDS("faults: swarm: cancel=0.05", "\n17 passed, 3 failed\n"));
    out_free(&r);
    copy_scenario("shutdown/bug-timeout-no-callback.ini");
    r = SIM("run bug-timeout-no-callback.ini --seeds 1..5 --jobs 1 --set "
            "scenario.branch_one_in=0 --set faults.branch=1/20");
    expect(&r, 0, WORDS("faults: branch=0.05", "was never discharged"));
    out_free(&r);
}

/* Goal: PCT's run length: under the default k = 10000 the shutdown system's runs (under 200
 * steps) are far shorter, and sim run says so in a line naming k and the runs' lengths;
 * pct:3:auto takes k from each seed's fifo run, prints no such line, and a recorded run
 * replays identically. */
Test(shutdown_cli, pct_run_length_mismatch_and_auto)
{
    copy_scenario("shutdown/clean.ini");
    out r = SIM("run clean.ini --seeds 1..5 --strategy pct --jobs 1 --quiet");
    expect(&r, 0, WORDS("pct: shutdown-clean: run length k = 10000 steps, but its 5 PCT run(s) "
                        "took ", "pct:D:auto"));
    out_free(&r);
    r = SIM("run clean.ini --seeds 1..5 --strategy pct:3:auto --jobs 1 --db p.db");
    expect(&r, 0, WORDS("\n5 passed, 0 failed\n"));
    cr_assert(eq(ptr, (void *)strstr(r.text, "pct: shutdown-clean"), NULL), "%s", r.text);
    out_free(&r);
    r = SIM("replay --db p.db 3");
    expect(&r, 0, WORDS("recorded pass, replayed pass"));
    out_free(&r);
}

/* Goal: --sweep and --cancel-sweep together are refused; a scenario of the system without a
 * shutdown signal fails setup with a message that says what to add. */
Test(shutdown_cli, refusals)
{
    copy_scenario("shutdown/clean.ini");
    out r = SIM("run clean.ini --cancel-sweep --sweep x");
    expect(&r, 2, WORDS("--sweep and --cancel-sweep sweep one thing at a time"));
    out_free(&r);
    r = SIM("run clean.ini --seed 1 --set scenario.shutdown_at=0s --jobs 1");
    expect(&r, 1, WORDS("needs [scenario] shutdown_at"));
    out_free(&r);
}

/* ---- sim explore ---------------------------------------------------------------------------- */

/* Goal: sim explore runs bound 0, 1, 2 on the clean scenario's seed 1 and finds nothing,
 * saying each bound was explored in full; on callback-twice (its random cancellation off)
 * it finds the double callback at bound 1 through a cancellation deviation, and the printed
 * --schedule command runs that schedule again with the same result. */
Test(shutdown_cli, explore_bounds_and_replays)
{
    copy_scenario("shutdown/clean.ini");
    out r = SIM("explore clean.ini --seed 1 --bound 2");
    expect(&r, 0, WORDS("bound 0: 1 schedule(s) with 0 deviation(s), 1 run(s), all explored",
                        "bound 1: ", "bound 2: ", "all explored\nno failing schedule within 2 "
                        "deviation(s) ("));
    out_free(&r);
    copy_scenario("shutdown/bug-callback-twice.ini");
    r = SIM("explore bug-callback-twice.ini --seed 1 --set scenario.cancel_one_in=0");
    expect(&r, 1, WORDS("bound 1: ", "stopped at a failure",
                        "FAIL  shutdown-bug-callback-twice seed 1, schedule c",
                        "discharged twice", "replay: sim explore bug-callback-twice.ini --seed 1 "
                        "--schedule 'c"));
    const char *at = strstr(r.text, "replay: sim ");
    cr_assert(ne(ptr, (void *)at, NULL));
    at += strlen("replay: sim ");
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%.*s", (int)strcspn(at, "\n"), at);
    out_free(&r);
    r = SIM("%s", cmd);
    expect(&r, 1, WORDS("shutdown-bug-callback-twice seed 1, schedule c", "discharged twice"));
    out_free(&r);
    r = SIM("explore bug-callback-twice.ini --seed 1 --schedule 3:x");
    expect(&r, 2, WORDS("--schedule expects S:T"));
    out_free(&r);
    r = SIM("explore bug-callback-twice.ini");
    expect(&r, 2, WORDS("--seed N is required"));
    out_free(&r);
}

/* Goal: pruning skips only schedules that are the same run as one explored, and leaves the
 * bound's meaning whole. Method: seed 1 of the clean scenario at bound 2 with --audit-prune,
 * which runs every skipped schedule anyway and compares it with the schedule it was skipped
 * for (result, steps, end time, the multiset of events): some are skipped, every count adds up
 * (schedules run + skipped = the bound's schedules without pruning), none differs; with
 * --no-prune nothing is skipped. */
Test(shutdown_cli, explore_prunes_only_equivalent_schedules)
{
    copy_scenario("shutdown/clean.ini");
    out r = SIM("explore clean.ini --seed 1 --bound 2 --audit-prune");
    expect(&r, 0, WORDS(" skipped as equivalent, all explored\n",
                        " ran differently from the schedule each was skipped for\n",
                        "no failing schedule within 2 deviation(s)"));
    unsigned long long run[3][2] = {{0}}; /* per bound: run, skipped */
    for (unsigned b = 0; b < 3; b++) {
        char head[32];
        snprintf(head, sizeof head, "bound %u: ", b);
        const char *at = strstr(r.text, head);
        cr_assert(ne(ptr, (void *)at, NULL));
        cr_assert(eq(int, sscanf(at + strlen(head), "%llu", &run[b][0]), 1));
        const char *skip = strstr(at, " skipped as equivalent");
        const char *eol = strchr(at, '\n');
        if (skip != NULL && skip < eol) {
            while (skip > at && skip[-1] != ' ') skip--;
            cr_assert(eq(int, sscanf(skip, "%llu", &run[b][1]), 1));
        }
    }
    cr_assert(run[2][1] > 0, "nothing skipped at bound 2:\n%s", r.text); /* it pays here */
    cr_assert(ne(ptr, strstr(r.text, "audit: "), NULL));
    cr_assert(ne(ptr, strstr(r.text, " run, 0 ran differently"), NULL));
    out_free(&r);
    r = SIM("explore clean.ini --seed 1 --bound 2 --no-prune");
    expect(&r, 0, WORDS("no failing schedule within 2 deviation(s)"));
    cr_assert(eq(ptr, strstr(r.text, "skipped"), NULL));
    for (unsigned b = 0; b < 3; b++) {
        char want[96];
        snprintf(want, sizeof want, "bound %u: %llu schedule(s)", b, run[b][0] + run[b][1]);
        cr_assert(ne(ptr, strstr(r.text, want), NULL), "%s not in:\n%s", want, r.text);
    }
    out_free(&r);
}

/* Goal: with pruning on (the default) sim explore still finds the planted schedule and
 * cancellation bugs, each as a schedule whose printed command fails again. */
Test(shutdown_cli, explore_with_pruning_finds_the_planted_bugs)
{
    static const char *const bugs[] = {"select-loses-message", "callback-never",
                                       "hang-on-failure", "timeout-no-callback"};
    for (size_t i = 0; i < sizeof bugs / sizeof bugs[0]; i++) {
        char name[96];
        snprintf(name, sizeof name, "shutdown/bug-%s.ini", bugs[i]);
        copy_scenario(name);
        out r = SIM("explore bug-%s.ini --seed 1 --set scenario.cancel_one_in=0 "
                    "--set scenario.branch_one_in=0", bugs[i]);
        expect(&r, 1, WORDS("stopped at a failure", "FAIL  shutdown-bug-", "replay: sim "));
        const char *at = strstr(r.text, "replay: sim ") + strlen("replay: sim ");
        char cmd[512];
        snprintf(cmd, sizeof cmd, "%.*s", (int)strcspn(at, "\n"), at);
        out_free(&r);
        r = SIM("%s", cmd);
        expect(&r, 1, WORDS("shutdown-bug-"));
        out_free(&r);
    }
}
