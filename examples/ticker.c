/* ticker.c: the README's example: one task that ticks three times on the virtual clock. */
#include <stdio.h>
#include <sim.h>

typedef struct ticker { sim_co co; sim_sleep nap; int i; } ticker;

static int ticker_poll(void *state, sim_world *w) {
    ticker *t = state;
    int rc = SIM_OK;
    SIM_BEGIN(&t->co);
    for (t->i = 1; t->i <= 3; t->i++) {
        sim_sleep_init(w, &t->nap, 100 * SIM_MS);          /* 100 ms of virtual time */
        SIM_AWAIT(&t->co, rc, sim_sleep_poll(w, &t->nap)); /* returns here when it fires */
        printf("tick %d at %llu ms\n", t->i, (unsigned long long)(sim_now(w) / SIM_MS));
    }
    SIM_END(&t->co, rc);
}

static void ticker_drop(void *state, sim_world *w, sim_drop_mode mode) {
    (void)mode;
    sim_sleep_drop(w, &((ticker *)state)->nap);            /* release what the state holds */
}

int main(void) {
    sim_world *w;
    sim_world_new(&(sim_world_desc){.seed = 42}, &w);
    sim_task_desc d = {.name = "ticker", .poll = ticker_poll, .drop = ticker_drop,
                       .state_size = sizeof(ticker)};
    sim_spawn(w, &d, NULL);
    int rc = sim_world_run(w);                             /* 300 ms pass in microseconds */
    printf("%s, trace hash %016llx\n", sim_result_name(rc),
           (unsigned long long)sim_world_trace_hash(w));
    sim_world_free(w);
    return rc == SIM_OK ? 0 : 1;
}
