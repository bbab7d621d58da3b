/*
 * result.c: names and sentences for result codes, violation kinds, event kinds and fault
 * actions, all generated from the X-macro tables in sim.h so that the enum and its text
 * cannot drift.
 */
#include <string.h>

#include "core.h"

const char *sim_result_name(int rc)
{
    if (rc == SIM_PENDING) return "SIM_PENDING";
    switch (rc) {
#define SIM__RESULT_NAME(name, value, text)                                                    \
    case value:                                                                                \
        return #name;
        SIM_RESULT_TABLE(SIM__RESULT_NAME)
#undef SIM__RESULT_NAME
    default:
        return "SIM_E?";
    }
}

const char *sim_result_str(int rc)
{
    if (rc == SIM_PENDING) return "not finished yet";
    switch (rc) {
#define SIM__RESULT_STR(name, value, text)                                                     \
    case value:                                                                                \
        return text;
        SIM_RESULT_TABLE(SIM__RESULT_STR)
#undef SIM__RESULT_STR
    default:
        return "unknown result code";
    }
}

const char *sim_violation_kind_name(sim_violation_kind kind)
{
    switch (kind) {
#define SIM__VIOLATION_NAME(name, value, text)                                                 \
    case name:                                                                                 \
        return text;
        SIM_VIOLATION_TABLE(SIM__VIOLATION_NAME)
#undef SIM__VIOLATION_NAME
    default:
        return "?";
    }
}

const char *sim_event_kind_name(sim_event_kind kind)
{
    switch (kind) {
#define SIM__EVENT_NAME(name, value, text, fields)                                             \
    case name:                                                                                 \
        return text;
        SIM_EVENT_TABLE(SIM__EVENT_NAME)
#undef SIM__EVENT_NAME
    default:
        return "?";
    }
}

const char *sim_event_kind_fields(sim_event_kind kind)
{
    switch (kind) {
#define SIM__EVENT_FIELDS(name, value, text, fields)                                           \
    case name:                                                                                 \
        return fields;
        SIM_EVENT_TABLE(SIM__EVENT_FIELDS)
#undef SIM__EVENT_FIELDS
    default:
        return "";
    }
}

sim_event_kind sim_event_kind_from_name(const char *name)
{
#define SIM__EVENT_FIND(kind, value, text, fields)                                             \
    if (strcmp(name, text) == 0) return kind;
    SIM_EVENT_TABLE(SIM__EVENT_FIND)
#undef SIM__EVENT_FIND
    return (sim_event_kind)0;
}

const char *sim_fault_action_name(sim_fault_action action)
{
    switch (action) {
#define SIM__FAULT_ACTION_CASE(name, value, text)                                              \
    case name:                                                                                 \
        return text;
        SIM_FAULT_ACTION_TABLE(SIM__FAULT_ACTION_CASE)
#undef SIM__FAULT_ACTION_CASE
    }
    return "?";
}
