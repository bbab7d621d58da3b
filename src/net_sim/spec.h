/*
 * spec.h: the [network] section of scenario files (spec.c), for the scenario module.
 */
#ifndef SIM_NET_SPEC_H
#define SIM_NET_SPEC_H

#include "net.h"

typedef struct sim__net_spec sim__net_spec;

/* A spec with every default, checking `link` lines against these node names (when known).
 * SIM_OK (an int, as the other sections' constructors, which can refuse). */
int sim__net_spec_new(const char *path, const char *const *nodes, uint32_t nnodes, bool known,
                      sim__net_spec **out);
void sim__net_spec_free(sim__net_spec *s);
/* Sets one key from text; errors as "[network] key: ..." (the caller adds file and line). */
int sim__net_spec_set(sim__net_spec *s, const char *key, const char *value, uint32_t line,
                      char *err, size_t err_size);
/* Checks that need several keys (none yet). */
int sim__net_spec_finish(sim__net_spec *s, uint64_t time_limit_ns, char *err, size_t err_size,
                         uint32_t *line);
/* "[network]\n..." with every key, sorted, malloc'd. */
char *sim__net_spec_canonical(const sim__net_spec *s);
void sim__net_spec_keys(char *buf, size_t size);
/* true when every key has its default value and there are no links (the network's own
 * defaults then apply as they are). */
bool sim__net_spec_is_default(const sim__net_spec *s);
/* Before the system's setup: the settings and the default link. */
int sim__net_spec_apply(sim_world *w, const sim__net_spec *s);
/* After it: the `link` lines, by node name. SIM_EINVAL with "FILE:LINE: ..." for a node the
 * run does not have. */
int sim__net_spec_links(sim_world *w, const sim__net_spec *s, char *err, size_t err_size);

#endif /* SIM_NET_SPEC_H */
