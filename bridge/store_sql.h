/*
 * Internal to the store's files (store*.c): statements prepared on first
 * use and kept for the life of the store, and the steps every query takes.
 */
#ifndef BRIDGE_STORE_SQL_H
#define BRIDGE_STORE_SQL_H

#include "store.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

/* The prepared statement for sql, which must be a string with static
 * storage: it is found again by its address. */
int bridge_sql_statement(struct bridge_store *s, const char *sql,
                         sqlite3_stmt **out);

/* Runs a statement that returns no row and makes it reusable. */
int bridge_sql_run(sqlite3_stmt *stmt);

/* Steps a statement expected to return at most one row; the caller reads
 * the row, then resets. *found tells whether there was one. */
int bridge_sql_step_one(sqlite3_stmt *stmt, bool *found);

void bridge_sql_bind_text(sqlite3_stmt *stmt, int index, const char *text);

/* Copies a text column into a fixed buffer; ids are short by schema. */
void bridge_sql_copy_column(sqlite3_stmt *stmt, int col, char *dst, size_t len);

#endif
