/*
 * points.c: fault points. The registry is process-wide because libfiu is: each point is
 * enabled once, by its exact name, with fiu_enable_external, and its record in the registry is
 * the point's failinfo, so that the callback finds it without a lookup. Enabling once matters:
 * libfiu leaks a copy of the name when an exact name is enabled again, and enabling from inside
 * a callback deadlocks (reference/libfiu-sqlite.md, A.3).
 *
 * A hit goes sim_fault -> fiu_fail -> the callback -> decide. The callback routes to the world
 * that sim_fault named, or else to the world running on the thread (for points marked with
 * libfiu's own macros). decide counts the hit and fires when the countdown says so or when
 * mix(seed, point id, hit number), read as a fraction of 2^64, falls below the probability:
 * a pure function of the three, so hits of one point never move another's decisions.
 * libfiu's own random mode and its global generator are never used.
 */
#define FIU_ENABLE 1
#include <fiu-control.h>
#include <fiu.h>
#include <pthread.h>
#include <stdio.h>
#include <xxhash.h>

#include "points.h"

/* The built-in points, in catalog order. docs/faults.md describes each. */
static const struct {
    const char *name;
    const char *key;
    uint32_t flags;
    const char *doc;
} builtins[] = {
    {"node/crash", "crash", SIM__PF_TIMED | SIM__PF_SWARM | SIM__PF_DRIVER,
     "crash a node that is up or paused: its tasks are dropped, its pool jobs abandoned"},
    {"node/restart", "restart", SIM__PF_DRIVER,
     "restart a node the plan crashed, once its restart_after delay has passed"},
    {"node/pause", "pause", SIM__PF_TIMED | SIM__PF_SWARM | SIM__PF_DRIVER,
     "pause a node that is up, for a time drawn from pause_for"},
    {"net/send/drop", "drop", SIM__PF_SWARM,
     "lose a datagram; a stream segment arrives a retransmission timeout late instead"},
    {"net/send/dup", "dup", SIM__PF_SWARM, "deliver a datagram twice"},
    {"net/partition", "partition", SIM__PF_TIMED | SIM__PF_SWARM | SIM__PF_DRIVER,
     "partition the network (partition_mode) for a time drawn from partition_for"},
    {"net/clog", "clog", SIM__PF_TIMED | SIM__PF_SWARM | SIM__PF_DRIVER,
     "clog a node: its messages wait, for a time drawn from clog_for"},
    {"disk/read/eio", "read_eio", SIM__PF_SWARM, "a read fails with SIM_EIO"},
    {"disk/write/eio", "write_eio", SIM__PF_SWARM, "a write fails with SIM_EIO, writing nothing"},
    {"disk/fsync/eio", "fsync_eio", SIM__PF_SWARM,
     "an fsync fails with SIM_EIO; the file's dirty data is dropped, never durable"},
    {"disk/write/enospc", "enospc", SIM__PF_SWARM,
     "a write fails with SIM_ENOSPC, writing nothing"},
    {"disk/corrupt", "corrupt", SIM__PF_SWARM,
     "a sector is damaged as it becomes durable (once per sector made durable)"},
    {"task/cancel", "cancel", SIM__PF_SWARM,
     "abort a task at a cancellable await, as sim_join_abort would (once per such await)"},
    {"task/branch", "branch", SIM__PF_SWARM,
     "make the other branch of a select win, or a timeout fire now (once per branch point)"},
};
#define NBUILTINS (sizeof builtins / sizeof builtins[0])

static sim__point registry[SIM__POINTS_MAX];
static uint32_t registry_len;          /* read with acquire, written with release */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static bool started;                   /* under registry_lock */

/* Where the callback sends a hit: the world sim_fault named and the node acted on. */
typedef struct route_t {
    sim_world *w;
    uint64_t ppt;       /* the hit's own probability (a link's), when has_ppt */
    bool has_ppt;
    uint32_t node;      /* SIM__NIL: the running task's node */
    bool seen;          /* the callback ran: the point is known to libfiu */
    bool driver_point;  /* code hit a point only the plan's driver may hit */
} route_t;

static _Thread_local route_t route;

static int on_hit(const char *name, int *failnum, void **failinfo, unsigned *flags);

/* Adds a point under the lock. The name is not yet in the registry. SIM_ELIMIT past
 * SIM__POINTS_MAX; libfiu refusing (it only allocates) is out of memory, which is fatal. */
static int add_locked(const char *name, const char *key, const char *doc, uint32_t flags)
{
    if (registry_len == SIM__POINTS_MAX) return SIM_ELIMIT;
    sim__point *p = &registry[registry_len];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->key = key ? key : p->name;
    p->doc = doc ? doc : "";
    p->id = XXH3_64bits(name, strlen(name));
    p->index = registry_len;
    p->flags = flags;
    /* failnum 1: fiu_fail returns 1 when the callback says fail. */
    if (fiu_enable_external(p->name, 1, p, 0, on_hit) != 0) {
        sim__oom(0, "libfiu (enabling a fault point)");
    }
    __atomic_store_n(&registry_len, registry_len + 1, __ATOMIC_RELEASE);
    return SIM_OK;
}

static void start_locked(void)
{
    if (started) return;
    started = true;
    if (fiu_init(0) != 0) sim__oom(0, "libfiu (fiu_init)");
    for (uint32_t i = 0; i < NBUILTINS; i++) {
        int rc = add_locked(builtins[i].name, builtins[i].key, builtins[i].doc,
                            builtins[i].flags);
        SIM_ASSERT(rc == SIM_OK); /* the built-in points fit the registry */
    }
    SIM_ASSERT(registry_len == NBUILTINS);
}

void sim__points_init(void)
{
    if (__atomic_load_n(&registry_len, __ATOMIC_ACQUIRE) >= NBUILTINS) return;
    pthread_mutex_lock(&registry_lock);
    start_locked();
    pthread_mutex_unlock(&registry_lock);
}

const sim__point *sim__point_find(const char *name)
{
    sim__points_init();
    uint32_t n = __atomic_load_n(&registry_len, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(registry[i].name, name) == 0) return &registry[i];
    }
    return NULL;
}

uint32_t sim__point_builtin_count(void)
{
    return (uint32_t)NBUILTINS;
}

const sim__point *sim__point_builtin(uint32_t i)
{
    SIM_ASSERT(i < NBUILTINS);
    sim__points_init();
    return &registry[i];
}

bool sim__point_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n <= 4 || n > SIM__POINT_NAME_MAX || strncmp(name, "sut/", 4) != 0) return false;
    for (size_t i = 4; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                  c == '.' || c == '/';
        if (!ok) return false;
    }
    /* sut/<system>/<what>: a system part, then at least one more */
    const char *slash = strchr(name + 4, '/');
    return slash != NULL && slash != name + 4 && name[n - 1] != '/' &&
           strstr(name, "//") == NULL;
}

int sim_fault_declare(const sim_fault_point *points, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        if (points[i].name == NULL || !sim__point_name_ok(points[i].name)) return SIM_EINVAL;
    }
    pthread_mutex_lock(&registry_lock);
    start_locked();
    int rc = SIM_OK;
    for (uint32_t i = 0; i < count && rc == SIM_OK; i++) {
        bool known = false;
        for (uint32_t j = 0; j < registry_len && !known; j++) {
            known = strcmp(registry[j].name, points[i].name) == 0;
        }
        if (!known) rc = add_locked(points[i].name, NULL, points[i].doc, SIM__PF_SWARM);
    }
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

/* ---- a world's state ---------------------------------------------------------------------- */

static const sim__ext_ops faults_ops;

static sim__faults *faults_peek(const sim_world *w)
{
    return sim__ext_state_own(w, &faults_ops); /* hits say their own footprint */
}

static void faults_free(sim_world *w)
{
    sim__faults *fs = faults_peek(w);
    SIM_ASSERT(fs != NULL); /* freed once, with the world */
    SIM_ASSERT(fs->nrecs <= fs->recs_cap);
    free(fs->slots);
    free(fs->recs);
    if (fs->plan != NULL) fs->plan_free(fs->plan);
    free(fs);
    sim__ext_detach(w, &faults_ops);
}

/* No timers, waits, handles or dump: the world only frees it. */
static const sim__ext_ops faults_ops = {.name = "faults", .free = faults_free};

/* The executor's cancellation hook: a hit of task/cancel or task/branch. */
static bool cancel_hook(sim_world *w, bool branch, uint32_t node)
{
    /* The last two built-ins, registered first, in catalog order. */
    const sim__point *p = sim__point_builtin((uint32_t)NBUILTINS - (branch ? 1 : 2));
    SIM_ASSERT(strcmp(p->key, branch ? "branch" : "cancel") == 0);
    return sim__point_hit_ppt(w, p, node, UINT64_MAX) != 0;
}

sim__faults *sim__faults_of(sim_world *w)
{
    sim__faults *fs = faults_peek(w);
    if (fs != NULL) return fs;
    fs = sim__xcalloc(1, sizeof *fs, "a world's fault state");
    sim__ext_attach(w, &faults_ops, fs);
    sim__exec_set_cancel_hook(w, cancel_hook);
    return fs;
}

sim__faults *sim__faults_peek(const sim_world *w)
{
    return faults_peek(w);
}

/* The slot of point p, growing the array to the registry's size. */
static sim__slot *slot_of(sim__faults *fs, const sim__point *p)
{
    if (p->index >= fs->nslots) {
        uint32_t n = __atomic_load_n(&registry_len, __ATOMIC_ACQUIRE);
        SIM_ASSERT(p->index < n);
        sim__slot *s = sim__xrealloc_array(fs->slots, n, sizeof *s, "fault point counters");
        for (uint32_t i = fs->nslots; i < n; i++) {
            s[i] = (sim__slot){.fail_at = UINT64_MAX};
        }
        fs->slots = s;
        fs->nslots = n;
    }
    return &fs->slots[p->index];
}

void sim__fault_record(sim_world *w, const char *point, uint64_t point_id, uint64_t hit,
                       uint32_t node, sim_fault_action action, const char *detail)
{
    sim__faults *fs = sim__faults_of(w);
    if (fs->nrecs == fs->recs_cap && fs->nrecs < SIM__FAULT_RECS_MAX) {
        uint32_t cap = fs->recs_cap ? fs->recs_cap * 2 : 16;
        fs->recs = sim__xrealloc_array(fs->recs, cap, sizeof *fs->recs, "fault records");
        fs->recs_cap = cap;
    }
    if (fs->nrecs < fs->recs_cap) {
        fs->recs[fs->nrecs++] = (sim_fault_rec){
            .step = sim_world_step(w), .vtime_ns = sim__exec_now(w), .point = point, .hit = hit,
            .node = {node}, .action = action, .detail = detail};
    } else {
        fs->recs_dropped++;
    }
    sim__exec_emit(w, SIM_EV_FAULT, node, sim_task_current(w).v, hit,
                   (uint64_t)action | (point_id << 8), detail ? detail : point);
}

/* splitmix64's finaliser over each input in turn: the decision's randomness. */
static uint64_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static bool roll(uint64_t seed, uint64_t id, uint64_t hit, uint64_t ppt)
{
    if (ppt >= SIM__PPT_ONE) return true;
    uint64_t h = mix(mix(mix(seed + 0x9e3779b97f4a7c15ull) ^ id) ^ hit);
    __extension__ typedef unsigned __int128 u128;
    return (uint64_t)(((u128)h * SIM__PPT_ONE) >> 64) < ppt;
}

/* Whether [faults] only lists this hit (a binary search: the list is sorted). */
static bool listed(const sim__faults *fs, uint64_t id, uint64_t hit)
{
    uint32_t lo = 0, hi = fs->nonly;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const sim__skip *k = &fs->only[mid];
        if (k->id == id && k->hit == hit) return true;
        if (k->id < id || (k->id == id && k->hit < hit)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}

static int decide(sim_world *w, const sim__point *p, uint32_t node)
{
    sim__faults *fs = sim__faults_of(w);
    sim__slot *s = slot_of(fs, p);
    uint64_t hit = s->hits++;
    if (fs->quiet) return 0;
    uint64_t ppt = route.w == w && route.has_ppt ? route.ppt : s->ppt;
    if (fs->only_on && p->id != fs->only_exempt) {
        if (hit != s->fail_at && !listed(fs, p->id, hit)) return 0;
    } else if (hit != s->fail_at && (ppt == 0 || !roll(sim_world_seed(w), p->id, hit, ppt))) {
        return 0;
    }
    if (!(p->flags & SIM__PF_DRIVER)) {
        if (node == SIM__NIL) node = sim_node_current(w).v;
        sim__fault_record(w, p->name, p->id, hit, node, SIM_FAULT_FIRE, NULL);
    }
    return 1;
}

static int on_hit(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
    (void)name; /* the enabled name; the record in failinfo says more */
    (void)failnum;
    (void)flags;
    const sim__point *p = *failinfo;
    route.seen = true;
    if ((p->flags & SIM__PF_DRIVER) && (route.w == NULL || route.node == SIM__NIL)) {
        route.driver_point = true; /* counting it would move the driver's decisions */
        return 0;
    }
    sim_world *w = route.w ? route.w : sim__running_get();
    if (w == NULL) return 0;
    return decide(w, p, route.w ? route.node : SIM__NIL);
}

/* Hits a point by name through libfiu; *seen says what the callback saw. */
static int hit_through_fiu(sim_world *w, const char *name, uint32_t node, route_t *seen)
{
    route_t saved = route;
    route = (route_t){.w = w, .node = node};
    int rc = fiu_fail(name);
    *seen = route;
    route = saved;
    return rc != 0;
}

int sim__point_hit_ppt(sim_world *w, const sim__point *p, uint32_t node, uint64_t ppt)
{
    sim__faults *fs = sim__faults_of(w);
    sim__slot *s = slot_of(fs, p);
    uint64_t effective = ppt == UINT64_MAX ? s->ppt : ppt;
    if ((effective == 0 || fs->quiet) && s->fail_at == UINT64_MAX) {
        /* The answer is known to be no: the hit is counted as libfiu's callback would count
         * it, without the round trip through fiu_fail. Two steps that count hits of one point
         * meet there (a countdown set later counts from them). */
        sim__exec_fp_touch(w, SIM__FP_KEY(SIM__FPK_POINT, p->index));
        s->hits++;
        return 0;
    }
    sim__exec_fp_global(w); /* a hit that may fire: whoever's comes k-th matters */
    route_t saved = route;
    route = (route_t){.w = w, .node = node, .ppt = ppt, .has_ppt = ppt != UINT64_MAX};
    int rc = fiu_fail(p->name);
    bool seen = route.seen;
    route = saved;
    SIM_ASSERT(seen); /* a registered point is always enabled */
    return rc != 0;
}

void sim__point_count(sim_world *w, const sim__point *p)
{
    sim__slot *s = slot_of(sim__faults_of(w), p);
    uint64_t before = s->hits;
    s->hits++;
    SIM_ASSERT(s->hits > before);
}

int sim__point_hit(sim_world *w, const sim__point *p, uint32_t node)
{
    route_t seen;
    sim__exec_fp_global(w); /* hit counts are shared: the k-th hit is whoever's comes k-th */
    int rc = hit_through_fiu(w, p->name, node, &seen);
    SIM_ASSERT(seen.seen); /* a registered point is always enabled */
    return rc;
}

int sim_fault(sim_world *w, const char *point)
{
    if (sim__exec_is_host(w)) return 0; /* a host world has no plan: nothing fires */
    if (__atomic_load_n(&registry_len, __ATOMIC_ACQUIRE) < NBUILTINS) sim__points_init();
    sim__exec_fp_global(w); /* hit counts are shared: the k-th hit is whoever's comes k-th */
    route_t seen;
    int rc = hit_through_fiu(w, point, SIM__NIL, &seen);
    if (!seen.seen) {
        sim__violation(w, SIM_VIOLATION_MISUSE,
                       "fault point '%s' is not declared (list it in the system's faults, or "
                       "call sim_fault_declare)",
                       point);
    } else if (seen.driver_point) {
        sim__violation(w, SIM_VIOLATION_MISUSE,
                       "fault point '%s' is hit by the fault plan's driver, not by code",
                       point);
    }
    return rc;
}

/* ---- setting and reading points by hand ----------------------------------------------------- */

static sim__slot *slot_by_name(sim_world *w, const char *point)
{
    const sim__point *p = sim__point_find(point);
    return p != NULL ? slot_of(sim__faults_of(w), p) : NULL;
}

int sim_fault_set(sim_world *w, const char *point, sim_ratio per_hit)
{
    if (sim__exec_is_host(w)) return sim__host_refuse(w, "sim_fault_set");
    if (per_hit.q == 0 || per_hit.p > per_hit.q) return SIM_EINVAL;
    sim__slot *s = slot_by_name(w, point);
    if (s == NULL) return SIM_EINVAL;
    __extension__ typedef unsigned __int128 u128;
    s->ppt = (uint64_t)((u128)per_hit.p * SIM__PPT_ONE / per_hit.q);
    if (per_hit.p != 0 && s->ppt == 0) s->ppt = 1; /* below 10^-12: the smallest nonzero */
    return SIM_OK;
}

void sim__fault_set_ppt(sim_world *w, const sim__point *p, uint64_t ppt)
{
    sim__slot *s = slot_of(sim__faults_of(w), p);
    s->ppt = ppt > SIM__PPT_ONE ? SIM__PPT_ONE : ppt;
}

int sim_fault_fail_at(sim_world *w, const char *point, uint64_t hit)
{
    if (sim__exec_is_host(w)) return sim__host_refuse(w, "sim_fault_fail_at");
    sim__slot *s = slot_by_name(w, point);
    if (s == NULL) return SIM_EINVAL;
    s->fail_at = hit;
    return SIM_OK;
}

uint64_t sim_fault_hits(const sim_world *w, const char *point)
{
    const sim__faults *fs = faults_peek(w);
    const sim__point *p = sim__point_find(point);
    if (fs == NULL || p == NULL || p->index >= fs->nslots) return 0;
    return fs->slots[p->index].hits;
}

uint32_t sim_world_fault_count(const sim_world *w)
{
    const sim__faults *fs = faults_peek(w);
    return fs ? fs->nrecs : 0;
}

const sim_fault_rec *sim_world_fault(const sim_world *w, uint32_t i)
{
    const sim__faults *fs = faults_peek(w);
    return fs && i < fs->nrecs ? &fs->recs[i] : NULL;
}

void sim__ppt_format(uint64_t ppt, char *buf, size_t size)
{
    if (ppt >= SIM__PPT_ONE) {
        snprintf(buf, size, "1");
        return;
    }
    if (ppt == 0) {
        snprintf(buf, size, "0");
        return;
    }
    char digits[16];
    snprintf(digits, sizeof digits, "%012llu", (unsigned long long)ppt);
    size_t n = strlen(digits);
    while (n > 1 && digits[n - 1] == '0') n--;
    digits[n] = '\0';
    snprintf(buf, size, "0.%s", digits);
}

/* ---- sweeps --------------------------------------------------------------------------------- */

void sim_sweep_init(sim_sweep *sw, const char *point, uint32_t max_runs)
{
    *sw = (sim_sweep){.point = point, .max_runs = max_runs};
}

bool sim_sweep_next(sim_sweep *sw)
{
    if (sw->complete || sw->runs >= sw->max_runs) return false;
    if (sw->started_) sw->k++;
    sw->started_ = true;
    sw->runs++;
    return true;
}

int sim_sweep_arm(sim_sweep *sw, sim_world *w)
{
    return sim_fault_fail_at(w, sw->point, sw->k);
}

void sim_sweep_end(sim_sweep *sw, const sim_world *w)
{
    sw->complete = sim_fault_hits(w, sw->point) <= sw->k;
}
