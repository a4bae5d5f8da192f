/* Secret redaction for everything reports/ writes (artefacts, README,
 * commit messages, notifications, error messages).
 *
 * Three kinds are found without help: values of token-like environment
 * variables (names containing TOKEN, SECRET, PASSWORD, PASSWD, API_KEY,
 * ACCESS_KEY, PRIVATE_KEY, CREDENTIAL, WEBHOOK or AUTH; values of 6 bytes
 * or more), credentials in URLs (scheme://user:pass@host), and the value of
 * Authorization headers / Bearer tokens.  Anything else secret (a webhook
 * URL, a plan variable) is registered with redact_add_secret.
 */
#ifndef DR_REPORTS_REDACT_H
#define DR_REPORTS_REDACT_H

#include <jansson.h>

#define REDACTED "[REDACTED]"

/* Register a literal secret (copied; process-wide, thread-safe).  Values
 * shorter than 4 bytes are ignored: redacting them would shred the text. */
void redact_add_secret(const char *value);
/* Forget every registered secret (tests). */
void redact_clear_secrets(void);

/* A redacted copy of text (heap, free()).  NULL gives "". */
char *redact_text(const char *text);
/* A deep copy of v with every string (and object key) redacted; new
 * reference.  NULL gives json null. */
json_t *redact_json(const json_t *v);

#endif
