/*
 * replay.h: comparing runs. Two runs of the same binary, scenario and seed must produce the
 * same events; these functions find the first place where they do not and show it with its
 * context, from events kept in memory or read back from a trace database.
 */
#ifndef SIM_REPLAY_H
#define SIM_REPLAY_H

#include <stdio.h>

#include "../src/core/core.h"

#define SIM__NO_DIFFERENCE UINT64_MAX

/* The index of the first event that differs in any field (detail included), the length of
 * the shorter sequence when one is a prefix of the other, or SIM__NO_DIFFERENCE. */
uint64_t sim__first_difference(const sim__evbuf *a, const sim__evbuf *b);

/* The index of the first differing checkpoint (step, event count or hash), the length of the
 * shorter list when one is a prefix of the other, or UINT32_MAX. */
uint32_t sim__first_checkpoint_difference(const sim_checkpoint *a, uint32_t na,
                                          const sim_checkpoint *b, uint32_t nb);

/* The steps between which two runs part, from the first differing checkpoint k of run a (na
 * checkpoints, `steps` steps in all): the checkpoint before k, or 0, and k's step, or steps. */
void sim__parting_steps(const sim_checkpoint *a, uint32_t na, uint32_t k, uint64_t steps,
                        uint64_t *lo, uint64_t *hi);

/* Node names by index, from the node-add events of a run ("-" for index 0). */
typedef struct sim__names {
    char **name;
    uint32_t n;
} sim__names;

void sim__names_from(const sim__evbuf *b, sim__names *out);
void sim__names_free(sim__names *names);
const char *sim__names_get(const sim__names *names, uint32_t node);

/* One event as an aligned line: step, time (s.mmmuuu), node, task, kind, what it says. */
void sim__event_line(const sim__evbuf *b, uint64_t i, const sim__names *names, char *line,
                     size_t size);
/* The header matching sim__event_line. */
const char *sim__event_header(void);

/* Prints where two runs diverge: the step, the event of each side, and `context` events
 * before and after on each side, under the two labels ("recorded", "replayed"). */
void sim__print_divergence(FILE *out, const sim__evbuf *a, const char *label_a,
                           const sim__evbuf *b, const char *label_b, uint64_t at,
                           uint32_t context);

#endif /* SIM_REPLAY_H */
