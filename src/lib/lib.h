#ifndef LOFT_LIB_H
#define LOFT_LIB_H
/* Basic helpers shared by every loft module: allocation that never
   returns NULL, a growable byte string, and small string utilities. */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdarg.h>
#include <string.h>
#include <sys/types.h>

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))
#define ATTR_FORMAT(a, b) __attribute__((format(printf, a, b)))
#define ATTR_NORETURN __attribute__((noreturn))
#define ATTR_UNUSED __attribute__((unused))

/* Allocation: abort the process on out-of-memory (a mail process cannot
   serve a client half-allocated). i_new zeroes. */
void *i_malloc(size_t size);
void *i_realloc(void *mem, size_t size);
char *i_strdup(const char *s);           /* NULL -> NULL */
char *i_strndup(const void *s, size_t n);
char *i_strdup_printf(const char *fmt, ...) ATTR_FORMAT(1, 2);
char *i_strdup_vprintf(const char *fmt, va_list args) ATTR_FORMAT(1, 0);
void *i_memdup(const void *data, size_t size);
#define i_new(type, count) ((type *)i_calloc((count), sizeof(type)))
void *i_calloc(size_t count, size_t size);
#define i_free(p) do { free(p); (p) = NULL; } while (0)

/* Growable byte buffer, always NUL-terminated (the NUL is not counted). */
typedef struct string {
	char *data;
	size_t len;
	size_t alloc;
} string_t;

string_t *str_new(size_t initial_size);
void str_free(string_t **str);
/* Free the struct and return the data, which the caller now owns. */
char *str_free_without_data(string_t **str);
void str_append(string_t *str, const char *s);
void str_append_n(string_t *str, const void *data, size_t size);
void str_append_c(string_t *str, char c);
void str_printfa(string_t *str, const char *fmt, ...) ATTR_FORMAT(2, 3);
void str_vprintfa(string_t *str, const char *fmt, va_list args) ATTR_FORMAT(2, 0);
void str_truncate(string_t *str, size_t len);
void str_delete(string_t *str, size_t pos, size_t len);
static inline const char *str_c(const string_t *str) { return str->data; }
static inline size_t str_len(const string_t *str) { return str->len; }
static inline const unsigned char *str_data(const string_t *str)
{ return (const unsigned char *)str->data; }

/* Small string helpers. */
bool str_begins(const char *s, const char *prefix);
bool str_begins_icase(const char *s, const char *prefix);
/* Split s at any char of seps into a NULL-terminated array; empty
   fields are kept. Free with str_split_free(). */
char **str_split(const char *s, const char *seps);
void str_split_free(char ***arr);
unsigned int str_array_length(char *const *arr);
/* Parse a decimal unsigned number; the whole string must be digits.
   Returns 0 on success, -1 on garbage or overflow. */
int str_to_uint64(const char *s, uint64_t *num_r);
int str_to_uint32(const char *s, uint32_t *num_r);
void str_lcase(char *s);
void str_ucase(char *s);

/* Constant-time comparison of two buffers of the same length
   (returns true when equal). Use for secrets. */
bool mem_equals_timing_safe(const void *a, const void *b, size_t size);
/* Overwrite a secret before freeing it. */
void safe_memset(void *p, int c, size_t size);

/* Base64 (RFC 4648). decode returns -1 on invalid input. */
void base64_encode(const void *src, size_t size, string_t *dest);
int base64_decode(const char *src, size_t size, string_t *dest);

/* Write the whole buffer, retrying on EINTR and short writes. */
int write_full(int fd, const void *data, size_t size);
/* Read a whole file into memory (NUL-terminated). -1 + errno on error. */
int read_file(const char *path, size_t max_size, char **data_r, size_t *size_r);

/* A new random session id as Dovecot prints them in logs: 22 characters
   of URL-safe base64 from 128 random bits. Caller frees. */
char *session_id_new(void);

/* Monotonic time in milliseconds. */
uint64_t time_monotonic_ms(void);

#endif
