/*
 * spec.h: the [disk] section of scenario files (spec.c), for the scenario module.
 */
#ifndef SIM_DISK_SPEC_H
#define SIM_DISK_SPEC_H

#include "disk.h"

typedef struct sim__disk_spec sim__disk_spec;

/* A spec with every default. SIM_OK (an int, as the other sections' constructors). */
int sim__disk_spec_new(const char *path, sim__disk_spec **out);
void sim__disk_spec_free(sim__disk_spec *s);
/* Sets one key from text; errors as "[disk] key: ..." (the caller adds file and line). */
int sim__disk_spec_set(sim__disk_spec *s, const char *key, const char *value, uint32_t line,
                       char *err, size_t err_size);
/* Checks what needs several keys: crash_keep + crash_torn at most 1. */
int sim__disk_spec_finish(sim__disk_spec *s, uint64_t time_limit_ns, char *err, size_t err_size,
                          uint32_t *line);
/* "[disk]\n..." with every key, sorted; malloc'd. */
char *sim__disk_spec_canonical(const sim__disk_spec *s);
/* true when every key has its default value. */
bool sim__disk_spec_is_default(const sim__disk_spec *s);
/* Draws the seed's model (ranges are drawn per seed, "sim/disk/model") and configures the
 * world's disks, before the system's setup. */
int sim__disk_spec_apply(sim_world *w, const sim__disk_spec *s);
/* The drawn model in one line, for the run's plan ("crash_keep=0.41 crash_torn=0.2"); "" when
 * nothing is drawn from a range. */
void sim__disk_spec_plan(const sim_world *w, const sim__disk_spec *s, char *buf, size_t size);

#endif /* SIM_DISK_SPEC_H */
