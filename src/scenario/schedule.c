/*
 * schedule.c: the [schedule] section of scenario files, a run's scheduling and cancellation
 * decisions as a script.
 *
 *   force = STEP:TASK ...   at step STEP, run task TASK (by id) whatever the strategy picks
 *   cancel = K ...          abort the task at the K-th cancellable await (as cancel_at does)
 *
 * Both keys repeat (each line adds entries; `none` clears what earlier lines gave), so a
 * schedule of any length can be written in lines that inih reads. This is what sim shrink
 * writes when it reverts a failing run's decisions to the base strategy's (fifo) one by one:
 * the decisions left are the ones the failure needs. A forced decision is lenient: one whose
 * task is not runnable at its step (the run changed around it) leaves the choice to the
 * strategy rather than stopping the run, so any subset of a schedule is a run.
 *
 * The spec keeps both lists sorted and without duplicates; the world borrows them for its life
 * (sim_world_desc.forced, cancel_list), the scenario owns them. The canonical block is empty
 * when the section is, so a scenario without it reads as it did before the section existed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

#define SCHEDULE_MAX (1u << 22) /* entries of each list */
#define PER_LINE 8              /* entries per canonical line: well under inih's 199 bytes */

struct sim__sched_spec {
    sim_decision *force; /* sorted by step, steps distinct */
    uint32_t nforce;
    uint64_t *cancel;    /* strictly increasing await numbers */
    uint32_t ncancel;
};

int sim__sched_spec_new(sim__sched_spec **out)
{
    SIM_ASSERT(out != NULL);
    *out = sim__xcalloc(1, sizeof **out, "a scenario's [schedule]");
    SIM_ASSERT((*out)->nforce == 0 && (*out)->ncancel == 0);
    return SIM_OK;
}

void sim__sched_spec_free(sim__sched_spec *s)
{
    if (s == NULL) return;
    free(s->force);
    free(s->cancel);
    free(s);
}

static int decision_cmp(const void *a, const void *b)
{
    const sim_decision *x = a, *y = b;
    return x->step < y->step ? -1 : x->step > y->step;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Parses one unsigned decimal number of text at *p, advancing it. */
static bool read_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    if (*s < '0' || *s > '9') return false;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *out = v;
    return true;
}

static int parse_force(sim__sched_spec *s, const char *text, char *err, size_t size)
{
    if (strcmp(text, "none") == 0) {
        s->nforce = 0;
        return SIM_OK;
    }
    for (const char *p = text; *p != '\0';) {
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\0') break;
        uint64_t step, task;
        const char *at = p;
        if (!read_u64(&p, &step) || *p++ != ':' || !read_u64(&p, &task) || step == 0 ||
            task == 0 || task > UINT32_MAX || (*p != '\0' && *p != ' ' && *p != '\t')) {
            return sim__einval(err, size,
                               "[schedule] force: expected STEP:TASK ... (12:4 runs task 4 at "
                               "step 12; steps and tasks from 1) or none; got '%.40s'", at);
        }
        if (s->nforce >= SCHEDULE_MAX) {
            return sim__einval(err, size, "[schedule] force: more than %u decisions",
                               SCHEDULE_MAX);
        }
        s->force = sim__xrealloc_array(s->force, s->nforce + 1, sizeof *s->force,
                                       "a scenario's [schedule]");
        s->force[s->nforce++] = (sim_decision){.step = step, .task = {(uint32_t)task}};
    }
    qsort(s->force, s->nforce, sizeof *s->force, decision_cmp);
    for (uint32_t i = 1; i < s->nforce; i++) {
        if (s->force[i].step == s->force[i - 1].step) {
            return sim__einval(err, size, "[schedule] force: step %llu is forced twice",
                               (unsigned long long)s->force[i].step);
        }
    }
    return SIM_OK;
}

static int parse_cancel(sim__sched_spec *s, const char *text, char *err, size_t size)
{
    if (strcmp(text, "none") == 0) {
        s->ncancel = 0;
        return SIM_OK;
    }
    for (const char *p = text; *p != '\0';) {
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\0') break;
        uint64_t k;
        const char *at = p;
        if (!read_u64(&p, &k) || k == 0 || (*p != '\0' && *p != ' ' && *p != '\t')) {
            return sim__einval(err, size,
                               "[schedule] cancel: expected cancellable await numbers from 1 "
                               "(3 17: abort the task at the 3rd and the 17th) or none; got "
                               "'%.40s'", at);
        }
        if (s->ncancel >= SCHEDULE_MAX) {
            return sim__einval(err, size, "[schedule] cancel: more than %u awaits",
                               SCHEDULE_MAX);
        }
        s->cancel = sim__xrealloc_array(s->cancel, s->ncancel + 1, sizeof *s->cancel,
                                        "a scenario's [schedule]");
        s->cancel[s->ncancel++] = k;
    }
    qsort(s->cancel, s->ncancel, sizeof *s->cancel, u64_cmp);
    uint32_t o = 0;
    for (uint32_t i = 0; i < s->ncancel; i++) {
        if (o == 0 || s->cancel[o - 1] != s->cancel[i]) s->cancel[o++] = s->cancel[i];
    }
    s->ncancel = o;
    return SIM_OK;
}

int sim__sched_spec_set(sim__sched_spec *s, const char *key, const char *value, uint32_t line,
                        char *err, size_t size)
{
    (void)line;
    SIM_ASSERT(s != NULL && key != NULL && value != NULL);
    if (strcmp(key, "force") == 0) return parse_force(s, value, err, size);
    if (strcmp(key, "cancel") == 0) return parse_cancel(s, value, err, size);
    return sim__einval(err, size, "[schedule] unknown key '%s'; valid keys: force, cancel", key);
}

char *sim__sched_spec_canonical(const sim__sched_spec *s)
{
    size_t size = 64 + (size_t)s->nforce * 48 + (size_t)s->ncancel * 24;
    char *buf = sim__xmalloc(size, "a scenario's canonical text");
    size_t o = 0;
    buf[0] = '\0';
    if (s->nforce == 0 && s->ncancel == 0) return buf;
    o += (size_t)snprintf(buf + o, size - o, "[schedule]\n");
    for (uint32_t i = 0; i < s->ncancel; i++) {
        bool first = i % PER_LINE == 0, last = i + 1 == s->ncancel || (i + 1) % PER_LINE == 0;
        o += (size_t)snprintf(buf + o, size - o, "%s%llu%s", first ? "cancel = " : " ",
                              (unsigned long long)s->cancel[i], last ? "\n" : "");
    }
    for (uint32_t i = 0; i < s->nforce; i++) {
        bool first = i % PER_LINE == 0, last = i + 1 == s->nforce || (i + 1) % PER_LINE == 0;
        o += (size_t)snprintf(buf + o, size - o, "%s%llu:%u%s", first ? "force = " : " ",
                              (unsigned long long)s->force[i].step, s->force[i].task.v,
                              last ? "\n" : "");
    }
    SIM_ASSERT(o < size);
    return buf;
}

void sim__sched_spec_desc(const sim__sched_spec *s, sim_world_desc *d)
{
    SIM_ASSERT(s != NULL && d != NULL);
    d->forced = s->nforce ? s->force : NULL;
    d->forced_count = s->nforce;
    d->forced_lenient = s->nforce > 0;
    d->cancel_list = s->ncancel ? s->cancel : NULL;
    d->cancel_count = s->ncancel;
    SIM_ASSERT(d->forced_count == 0 || d->forced != NULL);
}
