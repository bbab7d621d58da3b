/*
 * brute.h: an exhaustive linearizability checker and the small histories it can decide,
 * shared by tests/unit/test_check_brute.c (histories from a seeded generator) and
 * fuzz/check_brute.c (histories decoded from the fuzzer's bytes).
 *
 * A history comes from a simulated concurrent object (register, or kv on two keys) driven by
 * a source of choices, so it is linearizable until brute_mutate changes one claim. The
 * search tries every order real time allows, with its own copy of each model's rules and
 * without splitting keys: slow (factorial in the operations) and simple, which is the point.
 * Needs sim.h only, no Criterion.
 */
#ifndef SIM_TEST_BRUTE_H
#define SIM_TEST_BRUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BRUTE_MAX_OPS 7
#define BRUTE_PROCS 3
#define BRUTE_NONE -1 /* nil, or an absent key */

typedef enum brute_f { BRUTE_READ, BRUTE_WRITE, BRUTE_CAS, BRUTE_GET, BRUTE_PUT, BRUTE_APPEND,
                       BRUTE_RM } brute_f;
typedef enum brute_outcome { BRUTE_PENDING, BRUTE_OK, BRUTE_FAIL, BRUTE_INFO } brute_outcome;

typedef struct brute_op {
    int process;
    brute_f f;
    int key;
    int in, in2;             /* register: value (cas: old, new); kv: a letter, 'a' + in */
    char out[16];            /* register: the value read; kv: the string read, or "" */
    int out_int;             /* register reads and rm: BRUTE_NONE, or a value; rm: 1 removed */
    bool out_nil;            /* a kv get of a missing key, or a blind rm */
    brute_outcome done;
    bool applied;
    int call, ret;           /* event positions; ret is INT32_MAX for info */
    int at;                  /* where the completion's line goes; -1: nowhere (never completed) */
} brute_op;

typedef struct brute_hist {
    brute_op ops[BRUTE_MAX_OPS];
    int n;
    bool kv;
    int values;              /* inputs are drawn from this many values (brute_generate: 3) */
} brute_hist;

/* Where the generator's choices come from: next returns any 64-bit value (a seeded generator,
 * or the fuzzer's bytes). */
typedef struct brute_source {
    uint64_t (*next)(void *ud);
    void *ud;
} brute_source;

/* A choice in [0, n). */
int brute_pick(brute_source *s, int n);
/* A history of 1..BRUTE_MAX_OPS operations by BRUTE_PROCS processes on a simulated object:
 * a register (read, write, cas), or kv on two keys (get, put, append, rm). */
void brute_generate(brute_hist *h, bool kv, brute_source *s);
/* The same with inputs drawn from `values` values (1..3): with 1, operations in doubt are
 * mostly alike (writes of one value, appends of one letter), the in-doubt twins the checker
 * places in invocation order. */
void brute_generate_values(brute_hist *h, bool kv, int values, brute_source *s);
/* Changes one claim that may then be false: a read returns another value, a failed cas
 * claims it succeeded, an rm says it found a key it did not (or the reverse). */
void brute_mutate(brute_hist *h, brute_source *s);
/* Does some order allowed by real time explain every ok operation? */
bool brute_linearizable(const brute_hist *h);
/* The history as Jepsen EDN lines, into out (truncated to size). 4096 bytes always suffice. */
void brute_to_edn(const brute_hist *h, char *out, size_t size);

#endif /* SIM_TEST_BRUTE_H */
