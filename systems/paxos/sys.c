/*
 * sys.c: the paxos system as the scenario runner sees it (keys, setup, check, teardown) and
 * the ghost: what the checks of C.9 remember while the run goes, outside every node.
 *
 * The ghost is told by the nodes, at the moments the protocol makes facts visible: a node
 * decides entry i (reported only once its decided index is durable), makes a promise known
 * (a Promise or Prepare sent), accepts in a ballot, recovers from its disk, completes a
 * future. Each report is checked at once against what came before, and the first violation
 * is kept with its virtual time (and noted in the trace, `sim show --kind note`):
 * - agreement: every node that decides index i decides the same entry (chosen[i]);
 * - validity: a decided entry is a proposal some client made (or a tombstone of one);
 * - stability: a recovered node's decided prefix is at least what it reported, unchanged,
 *   and a node never rewrites a decided entry;
 * - integrity: a proposal is decided at one index only;
 * - promise monotonicity: a node never promises or accepts below a ballot it made known;
 * - per future: resolved(i) => chosen[i] is its entry; cancelled => never decided (policies
 *   proposal and safe); completed at most once.
 * After the run, the check also asks that every future completed (a crash excepted: its
 * future died with the node) and that something was decided.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paxos.h"
#include "px.h"

static const char *const node_names[PX_MAX_NODES] = {"n1", "n2", "n3", "n4", "n5"};
static const char *const outcome_names[] = {"waiting", "resolved", "cancelled", "superseded",
                                            "lost"};
static const char *const why_text[] = {"", " on an AcceptSync of a higher ballot (rule 1)",
                                       " once a later entry of its proposer was decided (rule 2)",
                                       " by its decided tombstone"};

/* ---- the ghost --------------------------------------------------------------------------- */

void px_note(sim_world *w, const char *fmt, ...)
{
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sim_trace_note(w, sim_world_intern(w, buf), buf, strlen(buf));
}

void px_violation(px_world *pw, sim_world *w, const char *fmt, ...)
{
    if (pw->failure[0] != '\0') return;
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    uint64_t t = sim_now(w);
    snprintf(pw->failure, sizeof pw->failure, "%s (at %llu.%06llus)", msg,
             (unsigned long long)(t / SIM_S), (unsigned long long)(t % SIM_S / SIM_US));
    px_note(w, "violation: %s", msg);
}

void px_ghost_promise(px_world *pw, sim_world *w, uint32_t node, px_ballot n)
{
    SIM_ASSERT(node < pw->nodes);
    SIM_ASSERT(n.pid != 0);
    (void)w;
    if (px_ballot_cmp(n, pw->ghost_promised[node]) > 0) pw->ghost_promised[node] = n;
}

void px_ghost_accept(px_world *pw, sim_world *w, uint32_t node, px_ballot n)
{
    SIM_ASSERT(node < pw->nodes);
    SIM_ASSERT(n.pid != 0);
    px_ballot known = pw->ghost_promised[node];
    if (px_ballot_cmp(n, known) < 0) {
        px_violation(pw, w, "promise monotonicity: n%u accepted in (%u,%u) below the (%u,%u) "
                     "it had promised", node + 1, n.n, n.pid, known.n, known.pid);
    }
}

static bool proposed(const px_world *pw, px_entry e)
{
    if (e.counter == 0 || e.counter > pw->next_counter) return false;
    if (e.kind != PX_ENTRY && e.kind != PX_TOMB) return false;
    return pw->props[e.counter].pid == e.pid;
}

void px_ghost_decide(px_world *pw, sim_world *w, uint32_t node, uint32_t i, px_entry e)
{
    SIM_ASSERT(node < pw->nodes);
    SIM_ASSERT(i < PX_LOG_MAX);
    if (i != pw->ghost_dec[node]) {
        px_violation(pw, w, "stability: n%u reported decided index %u after %u", node + 1, i,
                     pw->ghost_dec[node]);
    }
    pw->ghost_dec[node] = i + 1;
    if (!proposed(pw, e)) {
        px_violation(pw, w, "validity: n%u decided at %u an entry nobody proposed (#%u of n%u)",
                     node + 1, i, e.counter, e.pid);
        return;
    }
    if (i < pw->chosen_len) {
        px_entry c = pw->chosen[i];
        if (c.kind != e.kind || c.counter != e.counter) {
            px_violation(pw, w, "agreement: n%u decided %s#%u at %u, another node %s#%u",
                         node + 1, e.kind == PX_TOMB ? "tomb" : "", e.counter, i,
                         c.kind == PX_TOMB ? "tomb" : "", c.counter);
        }
        return;
    }
    SIM_ASSERT(i == pw->chosen_len || pw->failure[0] != '\0');
    if (i != pw->chosen_len) return;
    pw->chosen[pw->chosen_len++] = e;
    pw->decisions++;
    pw->last_decide_ns = sim_now(w);
    px_note(w, "decided %s#%u at %u (first by n%u)", e.kind == PX_TOMB ? "tomb" : "", e.counter,
            i, node + 1);
    if (e.kind != PX_ENTRY) return;
    px_prop *p = &pw->props[e.counter];
    if (p->decided_idx != 0) {
        px_violation(pw, w, "integrity: #%u decided at %u and again at %u", e.counter,
                     p->decided_idx - 1, i);
    }
    p->decided_idx = i + 1;
    if (p->outcome == PX_CANCELLED && pw->policy != PX_POLICY_SUPERSEDED) {
        px_violation(pw, w, "cancelled entry decided: #%u (n%u's future was cancelled%s) "
                     "decided at %u", e.counter, e.pid, why_text[p->why], i);
    }
    if (p->outcome == PX_SUPERSEDED) pw->superseded_decided++;
}

void px_ghost_recover(px_world *pw, sim_world *w, const px_node *nd)
{
    SIM_ASSERT(nd->idx < pw->nodes);
    SIM_ASSERT(nd->decided <= nd->len);
    if (nd->decided < pw->ghost_dec[nd->idx]) {
        px_violation(pw, w, "stability: n%u recovered with %u decided entries, it had "
                     "reported %u", nd->idx + 1, nd->decided, pw->ghost_dec[nd->idx]);
    }
    for (uint32_t i = 0; i < nd->decided && i < pw->chosen_len; i++) {
        if (nd->log[i].kind != pw->chosen[i].kind || nd->log[i].counter != pw->chosen[i].counter) {
            px_violation(pw, w, "stability: n%u recovered #%u at decided index %u, #%u was "
                         "decided there", nd->idx + 1, nd->log[i].counter, i,
                         pw->chosen[i].counter);
        }
    }
    px_ballot known = pw->ghost_promised[nd->idx];
    if (px_ballot_cmp(nd->promise, known) < 0) {
        px_violation(pw, w, "promise monotonicity: n%u recovered with promise (%u,%u) after "
                     "making (%u,%u) known", nd->idx + 1, nd->promise.n, nd->promise.pid,
                     known.n, known.pid);
    }
    /* What it reports from here on starts at its durable decided index. */
    if (nd->decided > pw->ghost_dec[nd->idx]) {
        for (uint32_t i = pw->ghost_dec[nd->idx]; i < nd->decided; i++) {
            px_ghost_decide(pw, w, nd->idx, i, nd->log[i]);
        }
    }
    pw->ghost_dec[nd->idx] = nd->decided;
}

void px_ghost_complete(px_world *pw, sim_world *w, uint32_t node, uint32_t counter,
                       px_outcome o)
{
    SIM_ASSERT(counter > 0 && counter <= pw->next_counter);
    SIM_ASSERT(o.kind >= PX_RESOLVED && o.kind <= PX_SUPERSEDED);
    SIM_ASSERT(o.why <= PX_WHY_TOMB);
    px_prop *p = &pw->props[counter];
    p->completions++;
    if (p->completions > 1) {
        px_violation(pw, w, "future #%u completed twice (%s, then %s)", counter,
                     outcome_names[p->outcome], outcome_names[o.kind]);
        return;
    }
    p->outcome = o.kind;
    p->why = o.why;
    if (o.kind == PX_RESOLVED) {
        pw->resolved++;
        p->resolved_idx = o.idx;
        if (o.idx >= pw->chosen_len || pw->chosen[o.idx].kind != PX_ENTRY ||
            pw->chosen[o.idx].counter != counter) {
            px_violation(pw, w, "future #%u resolved at %u, which holds #%u", counter, o.idx,
                         o.idx < pw->chosen_len ? pw->chosen[o.idx].counter : 0);
        }
        return;
    }
    px_note(w, "n%u %s #%u%s", node + 1, outcome_names[o.kind], counter, why_text[o.why]);
    if (o.kind == PX_SUPERSEDED) {
        pw->superseded++;
        if (p->decided_idx != 0) pw->superseded_decided++;
        return;
    }
    pw->cancelled++;
    if (p->decided_idx != 0) {
        px_violation(pw, w, "cancelled entry decided: n%u cancelled #%u%s, decided at %u",
                     node + 1, counter, why_text[o.why], p->decided_idx - 1);
    }
}

/* ---- the system -------------------------------------------------------------------------- */

static const sim_key_spec paxos_keys[] = {
    {"paxos", "nodes", SIM_KEY_UINT, "3", NULL, 3, PX_MAX_NODES, "paxos nodes n1..nN (3..5)"},
    {"paxos", "appends", SIM_KEY_UINT, "8", NULL, 1, PX_MAX_APPENDS,
     "entries each node's client appends"},
    {"paxos", "election_timeout", SIM_KEY_DURATION, "200ms", NULL, 8 * SIM_MS, 60 * SIM_S,
     "a round of ballot leader election; heartbeats and resends every quarter of it"},
    {"paxos", "think", SIM_KEY_DURATION, "30ms", NULL, 0, 60 * SIM_S,
     "a client's pause before each append, drawn in 0..think"},
    {"paxos", "warmup", SIM_KEY_DURATION, "0s", NULL, 0, 600 * SIM_S,
     "how long clients wait before their first append (a leader is elected meanwhile)"},
    {"paxos", "linger", SIM_KEY_DURATION, "1s", NULL, 0, 600 * SIM_S,
     "how long a client stays after its last future completed"},
    {"paxos", "cancellation", SIM_KEY_CHOICE, "safe", "proposal|safe|superseded", 0, 0,
     "when a future may cancel: the seed's rules, the fenced rule, or the runtime's heuristic"},
    {"paxos", "bug", SIM_KEY_CHOICE, "none",
     "none|promise-before-persist|stale-self-accept|minority-decide|forget-promise", 0, 0,
     "a planted bug, for testing sim itself"},
};

static uint32_t choice_index(const char *v, const char *const *names, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(v, names[i]) == 0) return i;
    }
    SIM_ASSERT(false); /* the loader checked the choice */
    return 0;
}

static int paxos_setup(void *ud, sim_world *w, const sim_scenario *sc, void **out, char *err,
                       size_t err_size)
{
    static const char *const policies[] = {"proposal", "safe", "superseded"};
    static const char *const bugs[] = {"none", "promise-before-persist", "stale-self-accept",
                                       "minority-decide", "forget-promise"};
    (void)ud;
    px_world *pw = calloc(1, sizeof *pw);
    if (pw == NULL) {
        snprintf(err, err_size, "out of memory");
        return SIM_ENOMEM;
    }
    *out = pw;
    pw->nodes = (uint32_t)sim_scenario_uint(sc, "paxos", "nodes");
    pw->majority = pw->nodes / 2 + 1;
    pw->appends = (uint32_t)sim_scenario_uint(sc, "paxos", "appends");
    pw->election_ns = sim_scenario_uint(sc, "paxos", "election_timeout");
    pw->think_ns = sim_scenario_uint(sc, "paxos", "think");
    pw->linger_ns = sim_scenario_uint(sc, "paxos", "linger");
    pw->warmup_ns = sim_scenario_uint(sc, "paxos", "warmup");
    pw->policy = choice_index(sim_scenario_get(sc, "paxos", "cancellation"), policies, 3);
    pw->bug = choice_index(sim_scenario_get(sc, "paxos", "bug"), bugs, 5);
    SIM_ASSERT(pw->nodes >= 3 && pw->nodes <= PX_MAX_NODES);
    SIM_ASSERT(pw->nodes * pw->appends * 2 <= PX_LOG_MAX); /* entries and tombstones fit */
    int rc = SIM_OK;
    for (uint32_t i = 0; i < pw->nodes && rc == SIM_OK; i++) {
        pw->node[i].pw = pw;
        pw->node[i].idx = i;
        sim_node_desc d = {.name = node_names[i], .boot = px_boot, .boot_ud = &pw->node[i]};
        rc = sim_node_add(w, &d, &pw->ids[i]);
    }
    if (rc != SIM_OK) snprintf(err, err_size, "%s", sim_result_str(rc));
    return rc;
}

static int paxos_check(void *ud, void *state, sim_world *w, char *msg, size_t msg_size)
{
    (void)ud;
    (void)w;
    const px_world *pw = state;
    SIM_ASSERT(pw->next_counter < PX_MAX_PROPOSALS);
    if (pw->failure[0] != '\0') {
        snprintf(msg, msg_size, "%s", pw->failure);
        return SIM_EINVAL;
    }
    for (uint32_t c = 1; c <= pw->next_counter; c++) {
        const px_prop *p = &pw->props[c];
        if (p->outcome == 0) {
            snprintf(msg, msg_size, "future #%u (n%u) never completed", c, p->pid);
            return SIM_EINVAL;
        }
        if (p->outcome == PX_RESOLVED && (p->resolved_idx >= pw->chosen_len ||
                                          pw->chosen[p->resolved_idx].counter != c)) {
            snprintf(msg, msg_size, "future #%u resolved at %u, not decided there", c,
                     p->resolved_idx);
            return SIM_EINVAL;
        }
    }
    if (pw->next_counter == 0) {
        snprintf(msg, msg_size, "no client appended anything");
        return SIM_EINVAL;
    }
    return SIM_OK;
}

static void paxos_teardown(void *ud, void *state)
{
    (void)ud;
    free(state);
}

static uint32_t paxos_nodes(void *ud, const sim_scenario *sc, const char **names, uint32_t max)
{
    (void)ud;
    uint32_t n = (uint32_t)sim_scenario_uint(sc, "paxos", "nodes");
    for (uint32_t i = 0; i < n && i < max; i++) names[i] = node_names[i];
    return n;
}

const sim_system sim_paxos_system = {
    .name = "paxos",
    .summary = "OmniPaxos-style sequence paxos with leader election, durable state and an "
               "async append API whose futures resolve or cancel (the shadow log)",
    .keys = paxos_keys,
    .key_count = sizeof paxos_keys / sizeof paxos_keys[0],
    .setup = paxos_setup,
    .check = paxos_check,
    .teardown = paxos_teardown,
    .nodes = paxos_nodes,
    .shrink = "paxos.nodes paxos.appends",
};
