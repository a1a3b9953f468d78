/*
 * The result of one run: a single line of key=value pairs on stdout, read
 * by bench/run.sh. Values never contain spaces.
 */
#ifndef LOAD_REPORT_H
#define LOAD_REPORT_H

void load_report_text(const char *key, const char *value);
void load_report_int(const char *key, long long value);

/* Three decimals; a negative value means "not measured" and prints -1. */
void load_report_real(const char *key, double value);

/* Ends the line. */
void load_report_end(void);

#endif
