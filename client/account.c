/*
 * A device's account: setting it up (`chat init`), handing the identity
 * key to another device of the same user, and the user-facing side of
 * trust: safety numbers and accepting a changed identity key.
 */
#include "internal.h"

#include "db.h"
#include "fingerprint.h"
#include "json.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDENTITY_FORMAT   "chat-identity-v1"
#define IDENTITY_FILE_MAX 4096

/* ---- the identity file ---- */

static char *identity_file_text(const struct client_account *a)
{
	cJSON *obj = cJSON_CreateObject();
	char *pub = e2e_b64_encode(a->identity.public_key,
	                           sizeof(a->identity.public_key));
	char *sec = e2e_b64_encode(a->identity.secret_key,
	                           sizeof(a->identity.secret_key));
	char *text = NULL;

	if (obj != NULL && pub != NULL && sec != NULL &&
	    cJSON_AddStringToObject(obj, "format", IDENTITY_FORMAT) &&
	    cJSON_AddStringToObject(obj, "user", a->user) &&
	    cJSON_AddStringToObject(obj, "public", pub) &&
	    cJSON_AddStringToObject(obj, "secret", sec))
		text = cJSON_Print(obj);
	if (sec != NULL)
		sodium_memzero(sec, strlen(sec));
	free(pub);
	free(sec);
	cJSON_Delete(obj);
	return text;
}

int chat_client_export_identity(struct chat_client *c, const char *path)
{
	char *text = identity_file_text(&c->account);
	size_t len;
	int fd, rc = CHAT_OK;

	if (text == NULL)
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	len = strlen(text);
	/* Never over an existing file, and never readable by others. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = client_fail(c, CHAT_ERR_IO, "cannot create %s: %s", path,
		                 strerror(errno));
	} else if (fchmod(fd, 0600) != 0 ||
	           write(fd, text, len) != (ssize_t)len ||
	           write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
		rc = client_fail(c, CHAT_ERR_IO, "cannot write %s: %s", path,
		                 strerror(errno));
		unlink(path);
	}
	if (fd >= 0)
		close(fd);
	sodium_memzero(text, len);
	free(text);
	return rc;
}

/* Reads an identity file of user into id. */
static int import_identity(const char *path, const char *user,
                           struct e2e_identity *id, char *err, size_t errlen)
{
	unsigned char derived[E2E_IDENTITY_PUBLIC_BYTES];
	char text[IDENTITY_FILE_MAX];
	FILE *f = fopen(path, "rb");
	const char *format, *owner;
	cJSON *root = NULL;
	size_t len;
	int rc = -1;

	if (f == NULL) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		         strerror(errno));
		return -1;
	}
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	root = chat_json_parse_exact(text, len);
	format = client_json_string(root, "format");
	owner = client_json_string(root, "user");
	if (format == NULL || strcmp(format, IDENTITY_FORMAT) != 0 ||
	    e2e_b64_decode_exact(client_json_string(root, "public"),
	                         id->public_key, sizeof(id->public_key)) ||
	    e2e_b64_decode_exact(client_json_string(root, "secret"),
	                         id->secret_key, sizeof(id->secret_key)) ||
	    crypto_sign_ed25519_sk_to_pk(derived, id->secret_key) != 0 ||
	    sodium_memcmp(derived, id->public_key, sizeof(derived)) != 0) {
		snprintf(err, errlen, "%s is not an identity file", path);
	} else if (owner == NULL || strcmp(owner, user) != 0) {
		snprintf(err, errlen, "%s holds the identity of %s, not of %s",
		         path, owner ? owner : "nobody", user);
	} else {
		rc = 0;
	}
	sodium_memzero(text, sizeof(text));
	cJSON_Delete(root);
	return rc;
}

/* ---- init ---- */

static int check_init_options(const struct chat_init_options *o, char *err,
                              size_t errlen)
{
	if (o->state_path == NULL || o->state_path[0] == '\0') {
		snprintf(err, errlen, "no state file given");
		return CHAT_ERR_USAGE;
	}
	if (!chat_valid_user_id(o->user)) {
		snprintf(err, errlen, "invalid user id");
		return CHAT_ERR_USAGE;
	}
	if (o->token == NULL || o->token[0] == '\0' ||
	    strlen(o->token) > CLIENT_TOKEN_MAX) {
		snprintf(err, errlen, "invalid token");
		return CHAT_ERR_USAGE;
	}
	if (o->host != NULL && strlen(o->host) > CLIENT_HOST_MAX) {
		snprintf(err, errlen, "host name too long");
		return CHAT_ERR_USAGE;
	}
	if (o->port < 0 || o->port > 65535 || o->prekeys < 0 ||
	    o->prekeys > 100) {
		snprintf(err, errlen, "invalid port or prekey count");
		return CHAT_ERR_USAGE;
	}
	return CHAT_OK;
}

static int new_account(const struct chat_init_options *o,
                       struct client_account *a, char *err, size_t errlen)
{
	char suffix[16];

	memset(a, 0, sizeof(*a));
	snprintf(a->user, sizeof(a->user), "%s", o->user);
	snprintf(a->token, sizeof(a->token), "%s", o->token);
	snprintf(a->host, sizeof(a->host), "%s",
	         o->host ? o->host : CHAT_DEFAULT_HOST);
	a->port = o->port ? o->port : CHAT_DEFAULT_PORT;
	/* Stable per device and hard to guess (PROTOCOL.md). */
	client_new_id("", suffix, 13);
	snprintf(a->client_id, sizeof(a->client_id), "%s-%s", o->user, suffix);
	if (o->identity_file != NULL) {
		if (import_identity(o->identity_file, o->user, &a->identity,
		                    err, errlen) != 0)
			return CHAT_ERR_IO;
	} else {
		e2e_identity_generate(&a->identity);
		a->identity_created = true;
	}
	e2e_device_keys_generate(&a->device_keys);
	a->bundle_created = chat_now_ms();
	return CHAT_OK;
}

/* Creates the state file with a new account, or finds one that a
 * previous init of the same user left unpublished. */
static int prepare_state(const struct chat_init_options *o, char *err,
                         size_t errlen)
{
	struct client_account a;
	struct client_state s;
	bool exists = access(o->state_path, F_OK) == 0;
	int rc;

	if (client_state_open(o->state_path, !exists, &s, err, errlen) != 0)
		return CHAT_ERR_STATE;
	if (exists) {
		rc = client_state_load_account(&s, &a);
		if (rc == 0 && (strcmp(a.user, o->user) != 0 || a.published)) {
			snprintf(err, errlen, "%s is set up already (for %s)",
			         o->state_path, a.user);
			rc = CHAT_ERR_USAGE;
		} else if (rc < 0) {
			snprintf(err, errlen, "cannot read %s: %s",
			         o->state_path, client_state_error(&s));
			rc = CHAT_ERR_STATE;
		}
		/* rc 0: finish what the earlier init started. */
		if (rc <= 0)
			goto done;
	}
	rc = new_account(o, &a, err, errlen);
	if (rc == CHAT_OK && client_state_save_account(&s, &a) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", o->state_path,
		         client_state_error(&s));
		rc = CHAT_ERR_STATE;
	}
done:
	sodium_memzero(&a, sizeof(a));
	client_state_close(&s);
	if (rc != CHAT_OK && !exists)
		unlink(o->state_path);
	return rc;
}

int chat_client_init(const struct chat_init_options *o, char *err,
                     size_t errlen)
{
	struct chat_client *c;
	int rc = check_init_options(o, err, errlen);

	if (rc == CHAT_OK && client_session_library_init() != 0) {
		snprintf(err, errlen, "cannot initialise libsodium");
		rc = CHAT_ERR_STATE;
	}
	if (rc == CHAT_OK)
		rc = prepare_state(o, err, errlen);
	if (rc != CHAT_OK)
		return rc;
	rc = chat_client_open(o->state_path, &c, err, errlen);
	if (rc != CHAT_OK)
		return rc;
	c->prekeys = o->prekeys ? o->prekeys : CLIENT_PREKEYS_DEFAULT;
	/* Connecting publishes what is not published yet. */
	rc = chat_client_connect(c, false);
	if (rc != CHAT_OK)
		snprintf(err, errlen, "%s (run init again to finish)",
		         chat_client_error(c));
	chat_client_close(c);
	return rc;
}

/* ---- safety numbers and trust ---- */

static int published_keys(struct chat_client *c, const char *user,
                          struct client_user_keys **k)
{
	int rc;

	if (!chat_valid_user_id(user))
		return client_fail(c, CHAT_ERR_USAGE, "invalid user id");
	if (client_require_session(c) != CHAT_OK)
		return CHAT_ERR_NETWORK;
	rc = client_keys_get(c, user, 0, k);
	if (rc == CHAT_OK && !(*k)->published)
		rc = client_fail(c, CHAT_ERR_NOT_FOUND,
		                 "%s has published no keys", user);
	return rc;
}

int chat_client_safety(struct chat_client *c, const char *user,
                       struct chat_safety *out)
{
	unsigned char trusted[E2E_IDENTITY_PUBLIC_BYTES];
	const unsigned char *mine = c->account.identity.public_key;
	struct client_user_keys *k;
	bool found;
	int rc = published_keys(c, user, &k), first;

	if (rc != CHAT_OK)
		return rc;
	memset(out, 0, sizeof(*out));
	if (client_state_identity(&c->state, user, trusted, &found) != 0 ||
	    (!found && strcmp(user, c->account.user) != 0 &&
	     client_state_pin_identity(&c->state, user, k->identity) != 0))
		return client_fail(c, CHAT_ERR_STATE, "%s",
		                   client_state_error(&c->state));
	if (strcmp(user, c->account.user) == 0)
		memcpy(trusted, mine, sizeof(trusted));
	else if (!found)
		memcpy(trusted, k->identity, sizeof(trusted));
	if (sodium_memcmp(trusted, k->identity, sizeof(trusted)) != 0) {
		out->changed = true;
		e2e_fingerprint(k->identity, out->changed_fingerprint);
	}
	first = strcmp(c->account.user, user) <= 0 ? 0 : 1;
	snprintf(out->user[first], sizeof(out->user[0]), "%s", c->account.user);
	e2e_fingerprint(mine, out->fingerprint[first]);
	snprintf(out->user[1 - first], sizeof(out->user[0]), "%s", user);
	e2e_fingerprint(trusted, out->fingerprint[1 - first]);
	return CHAT_OK;
}

int chat_client_trust(struct chat_client *c, const char *user,
                      char fingerprint[CHAT_FINGERPRINT_SIZE])
{
	struct client_user_keys *k;
	int rc = published_keys(c, user, &k);

	if (rc != CHAT_OK)
		return rc;
	if (strcmp(user, c->account.user) == 0)
		return client_fail(c, CHAT_ERR_USAGE,
		                   "your own identity key is this device's");
	if (client_state_pin_identity(&c->state, user, k->identity) != 0)
		return client_fail(c, CHAT_ERR_STATE, "%s",
		                   client_state_error(&c->state));
	if (fingerprint != NULL)
		e2e_fingerprint(k->identity, fingerprint);
	return CHAT_OK;
}
