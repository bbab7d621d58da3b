/*
 * kvs_sqlite.h: kvs-server's `--engine sqlite` (kvs_sqlite.c), a kv_sync_store over SQLite.
 */
#ifndef KVS_SQLITE_H
#define KVS_SQLITE_H

#include "../systems/kv/kv.h"

typedef struct kvs_sqlite kvs_sqlite;

/* A store whose database will be the file at path (copied), opened by the store's open
 * function. SIM_ENOMEM, SIM_EINVAL (a path too long). */
int kvs_sqlite_new(const char *path, kvs_sqlite **out);
/* Closes the database and frees the store; NULL is allowed. */
void kvs_sqlite_free(kvs_sqlite *s);
/* The store's functions for kv_server_desc.store; s borrowed. */
kv_sync_store kvs_sqlite_store(kvs_sqlite *s);

#endif /* KVS_SQLITE_H */
