/* ticker.c: the README's example: one task that ticks three times on the virtual clock. */
#include <stdio.h>
#include <sim.h>

typedef struct ticker { sim_co co; int i; } ticker;

static int ticker_poll(void *state, sim_world *w) {
    ticker *t = state;
    SIM_BEGIN(w, &t->co);
    for (t->i = 1; t->i <= 3; t->i++) {
        SIM_TRY(sim_sleep(w, 100 * SIM_MS));   /* 100 ms of virtual time; resumes here */
        printf("tick %d at %llu ms\n", t->i, (unsigned long long)(sim_now(w) / SIM_MS));
    }
    SIM_END(SIM_OK);
}

int main(void) {
    sim_world *w;
    sim_world_new(&(sim_world_desc){.seed = 42}, &w);
    sim_spawn(w, &(sim_task_desc){.name = "ticker", .poll = ticker_poll,
                                  .state_size = sizeof(ticker)}, NULL);
    int rc = sim_world_run(w);                 /* 300 ms pass in microseconds */
    printf("%s, trace hash %016llx\n", sim_result_name(rc),
           (unsigned long long)sim_world_trace_hash(w));
    sim_world_free(w);
    return rc == SIM_OK ? 0 : 1;
}
