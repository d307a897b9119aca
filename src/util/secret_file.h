/*
 * util/secret_file.h - a secret kept in a file of its own (a webhook key, a NATS token): its
 * first line, read without ever putting it into a message.
 */
#ifndef PGH_UTIL_SECRET_FILE_H
#define PGH_UTIL_SECRET_FILE_H

/* *out: the first line of the file at path, without its line ending and trailing whitespace
 * (malloc'd; the caller zeroes and frees it). Returns 0; an errno value when the file cannot be
 * read (*out NULL); -1 when its first line is empty (*out NULL). */
int pgh_secret_file_read(char **out, const char *path);

#endif
