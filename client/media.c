/*
 * Files (docs/E2E.md "Media", docs/PROTOCOL.md "Media"). Sending: the file
 * is encrypted into the state folder, the ciphertext uploaded chunk by
 * chunk, and the message carrying the file key sent once the server holds
 * the whole file. The upload is a row of the state from the start, so an
 * interrupted one (a lost connection, a killed program) continues where
 * the server got to. Receiving: chunks are fetched into a temporary file,
 * hashed on the way, and decrypted only when the hash matches.
 *
 * Memory stays small whatever the size: one chunk at a time is read or
 * written.
 */
#include "internal.h"

#include "filecrypt.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Chunks published before the first of them is acknowledged. */
#define UPLOAD_WINDOW 4
/* Without an acknowledgement this long, the server is asked where it is. */
#define UPLOAD_STALL_MS 15000
/* A chunk request without an answer this long is sent again. */
#define CHUNK_RESEND_MS  8000
#define CHUNK_RETRY_MS   1000
#define CHUNK_TIMEOUT_MS CLIENT_REQUEST_TIMEOUT_MS
/* The type the server is told; the real one travels encrypted. */
#define OPAQUE_TYPE "application/octet-stream"
/* Chunk sizes accepted from the server. */
#define CHUNK_SIZE_MIN 1024
#define CHUNK_SIZE_MAX (900 * 1024)
#define PUMP_MS        100

static int state_failed(struct chat_client *c)
{
	return client_fail(c, CHAT_ERR_STATE, "%s",
	                   client_state_error(&c->state));
}

static int make_files_dir(struct chat_client *c)
{
	if (mkdir(c->files_dir, 0700) != 0 && errno != EEXIST)
		return client_fail(c, CHAT_ERR_IO, "cannot create %s: %s",
		                   c->files_dir, strerror(errno));
	return CHAT_OK;
}

static const char *guess_type(const char *name)
{
	static const char *const types[][2] = {
	    {"txt", "text/plain"},      {"md", "text/markdown"},
	    {"html", "text/html"},      {"json", "application/json"},
	    {"pdf", "application/pdf"}, {"zip", "application/zip"},
	    {"png", "image/png"},       {"jpg", "image/jpeg"},
	    {"jpeg", "image/jpeg"},     {"gif", "image/gif"},
	    {"webp", "image/webp"},     {"mp3", "audio/mpeg"},
	    {"ogg", "audio/ogg"},       {"mp4", "video/mp4"},
	    {"webm", "video/webm"},
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(dot + 1, types[i][0]) == 0)
			return types[i][1];
	return OPAQUE_TYPE;
}

/* ---- uploading ---- */

struct upload_run {
	struct chat_client *c;
	const struct client_upload *u;
	char upload[128];
	long long chunk_size;
	long long chunks;
	long long received; /* chunks the server holds */
	long long next;     /* the next chunk to publish */
	long long resent_from;
	unsigned generation; /* connection the position was learnt on */
	int fd;
	unsigned char *buf;
	chat_progress_fn progress;
	void *ctx;
};

static int begin_upload(struct upload_run *r)
{
	struct chat_client *c = r->c;
	cJSON *req = client_new_request("blob_begin"), *resp = NULL;
	char *hash = e2e_b64_encode(r->u->hash, E2E_FILE_HASH_BYTES);
	const char *upload;
	int rc;

	if (req == NULL || hash == NULL ||
	    !cJSON_AddStringToObject(req, "convo", r->u->convo) ||
	    !cJSON_AddNumberToObject(req, "size", (double)r->u->cipher_size) ||
	    !cJSON_AddStringToObject(req, "hash", hash) ||
	    !cJSON_AddStringToObject(req, "type", OPAQUE_TYPE)) {
		rc = client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
		goto done;
	}
	rc = client_request(c, req, &resp);
	if (rc != CHAT_OK)
		goto done;
	upload = client_json_string(resp, "upload");
	if (upload == NULL || upload[0] == '\0' ||
	    strlen(upload) >= sizeof(r->upload) ||
	    client_json_integer(resp, "chunk_size", &r->chunk_size) != 0 ||
	    r->chunk_size < CHUNK_SIZE_MIN || r->chunk_size > CHUNK_SIZE_MAX) {
		rc = client_fail(c, CHAT_ERR_REFUSED,
		                 "blob_begin answered no usable upload");
		goto done;
	}
	snprintf(r->upload, sizeof(r->upload), "%s", upload);
	r->received = 0;
	client_json_integer(resp, "received", &r->received);
	if (client_state_upload_set_id(&c->state, r->u->id, r->upload) != 0)
		rc = state_failed(c);
done:
	free(hash);
	cJSON_Delete(req);
	cJSON_Delete(resp);
	return rc;
}

/* Asks how many chunks the server holds. CHAT_ERR_REFUSED when it does
 * not know the upload (expired, or finished). */
static int upload_status(struct upload_run *r)
{
	struct chat_client *c = r->c;
	cJSON *req = client_new_request("blob_status"), *resp = NULL;
	int rc;

	if (req == NULL || !cJSON_AddStringToObject(req, "upload", r->upload)) {
		cJSON_Delete(req);
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	}
	rc = client_request(c, req, &resp);
	cJSON_Delete(req);
	if (rc == CHAT_OK &&
	    client_json_integer(resp, "received", &r->received) != 0)
		rc = client_fail(c, CHAT_ERR_REFUSED,
		                 "blob_status answered no position");
	r->next = r->received;
	r->generation = c->session.generation;
	cJSON_Delete(resp);
	return rc;
}

/* Where the server is; an upload it forgot (expired) begins again, in
 * chunks of the same size. */
static int resync_position(struct upload_run *r)
{
	long long chunk_size = r->chunk_size;
	int rc = upload_status(r);

	if (rc != CHAT_ERR_REFUSED)
		return rc;
	rc = begin_upload(r);
	r->next = r->received;
	r->generation = r->c->session.generation;
	if (rc == CHAT_OK && r->chunk_size != chunk_size)
		rc = client_fail(r->c, CHAT_ERR_REFUSED,
		                 "the server changed the chunk size");
	return rc;
}

static int publish_chunk(struct upload_run *r, long long index)
{
	struct chat_client *c = r->c;
	long long offset = index * r->chunk_size;
	long long len = r->u->cipher_size - offset;
	char topic[CHAT_TOPIC_MAX];
	ssize_t got;

	if (len > r->chunk_size)
		len = r->chunk_size;
	got = pread(r->fd, r->buf, (size_t)len, (off_t)offset);
	if (got != (ssize_t)len)
		return client_fail(c, CHAT_ERR_IO, "cannot read %s",
		                   r->u->cipher_path);
	snprintf(topic, sizeof(topic), "%s/upload/%s/%lld",
	         c->session.topics.prefix, r->upload, index);
	if (client_session_publish(&c->session, topic, r->buf, (size_t)len,
	                           1) != 0)
		return client_fail(c, CHAT_ERR_NETWORK, "cannot publish");
	return CHAT_OK;
}

static bool is_upload_ack(struct client_incoming *e, void *ctx)
{
	struct upload_run *r = ctx;
	cJSON *json;
	const char *op, *upload;

	if (e->kind != CLIENT_IN_RESP)
		return false;
	json = client_incoming_json(e);
	op = client_json_string(json, "op");
	upload = client_json_string(json, "upload");
	return op && upload && strcmp(op, "upload") == 0 &&
	       strcmp(upload, r->upload) == 0;
}

/* One acknowledgement: moves the position forward, or back to the first
 * chunk the server lacks when one got lost. */
static void take_ack(struct upload_run *r, const cJSON *ack)
{
	long long received, index = -1;

	if (client_json_integer(ack, "received", &received) != 0)
		return;
	client_json_integer(ack, "index", &index);
	if (received > r->chunks)
		received = r->chunks;
	if (received > r->received)
		r->received = received;
	if (!client_json_true(ack, "ok") && index > received &&
	    r->resent_from != received) {
		r->next = received;
		r->resent_from = received;
	}
	if (r->next < r->received)
		r->next = r->received;
}

static int report_progress(struct upload_run *r)
{
	long long done = r->received * r->chunk_size;

	if (done > r->u->cipher_size)
		done = r->u->cipher_size;
	if (r->progress != NULL &&
	    r->progress(r->ctx, done, r->u->cipher_size) != 0)
		return client_fail(r->c, CHAT_ERR_STOPPED,
		                   "upload stopped at %lld of %lld bytes; "
		                   "sending the file again resumes it",
		                   done, r->u->cipher_size);
	return CHAT_OK;
}

static int send_chunks(struct upload_run *r)
{
	struct chat_client *c = r->c;
	long long last_ack = client_monotonic_ms();
	int rc = report_progress(r);

	while (rc == CHAT_OK && r->received < r->chunks) {
		struct client_incoming *e;
		long long before = r->received;

		while (c->session.ready && r->next < r->chunks &&
		       r->next < r->received + UPLOAD_WINDOW && rc == CHAT_OK)
			rc = publish_chunk(r, r->next++);
		if (rc == CHAT_OK && client_session_pump(&c->session, PUMP_MS))
			rc = client_fail(c, CHAT_ERR_AUTH, "%s",
			                 c->session.error);
		while ((e = client_session_take(&c->session, is_upload_ack,
		                                r)) != NULL) {
			take_ack(r, e->json);
			client_incoming_free(e);
			last_ack = client_monotonic_ms();
		}
		if (rc == CHAT_OK && r->received > before)
			rc = report_progress(r);
		/* A new connection, or silence: ask where the server is. */
		if (rc == CHAT_OK && c->session.ready &&
		    (r->generation != c->session.generation ||
		     client_monotonic_ms() - last_ack > UPLOAD_STALL_MS)) {
			rc = resync_position(r);
			last_ack = client_monotonic_ms();
		}
	}
	return rc;
}

static int end_upload(struct upload_run *r, char blob[])
{
	struct chat_client *c = r->c;
	cJSON *req = client_new_request("blob_end"), *resp = NULL;
	char expected[E2E_FILE_HASH_BYTES * 2 + 1];
	const char *id;
	int rc;

	if (req == NULL || !cJSON_AddStringToObject(req, "upload", r->upload)) {
		cJSON_Delete(req);
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	}
	rc = client_request(c, req, &resp);
	cJSON_Delete(req);
	sodium_bin2hex(expected, sizeof(expected), r->u->hash,
	               E2E_FILE_HASH_BYTES);
	id = client_json_string(resp, "blob");
	if (rc == CHAT_OK && (id == NULL || strcmp(id, expected) != 0))
		rc = client_fail(c, CHAT_ERR_CRYPTO,
		                 "the server stored the file as %s, not as "
		                 "its hash %s",
		                 id ? id : "nothing", expected);
	if (rc == CHAT_OK)
		snprintf(blob, E2E_FILE_HASH_BYTES * 2 + 1, "%s", id);
	cJSON_Delete(resp);
	return rc;
}

/* The message plaintext that hands the file over. */
static char *file_plaintext(const struct client_upload *u, const char *blob)
{
	char *key = e2e_b64_encode(u->file_key, E2E_FILE_KEY_BYTES);
	char *hash = e2e_b64_encode(u->hash, E2E_FILE_HASH_BYTES);
	cJSON *root = cJSON_CreateObject(), *file;
	char *text = NULL;

	file = root ? cJSON_AddObjectToObject(root, "file") : NULL;
	if (key != NULL && hash != NULL && file != NULL &&
	    cJSON_AddStringToObject(file, "blob", blob) &&
	    cJSON_AddStringToObject(file, "key", key) &&
	    cJSON_AddStringToObject(file, "hash", hash) &&
	    cJSON_AddNumberToObject(file, "size", (double)u->plain_size) &&
	    cJSON_AddStringToObject(file, "type", u->type ? u->type : "") &&
	    cJSON_AddStringToObject(file, "name", u->name ? u->name : ""))
		text = cJSON_PrintUnformatted(root);
	if (key != NULL)
		sodium_memzero(key, strlen(key));
	free(key);
	free(hash);
	cJSON_Delete(root);
	return text;
}

static int send_file_message(struct upload_run *r, const char *blob)
{
	struct chat_client *c = r->c;
	char attachments[E2E_FILE_HASH_BYTES * 2 + 8];
	char *plaintext = file_plaintext(r->u, blob);
	int rc;

	if (plaintext == NULL)
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	snprintf(attachments, sizeof(attachments), "[\"%s\"]", blob);
	rc = client_outbox_send(c, r->u->convo, r->u->cmid, plaintext,
	                        attachments, r->u->id);
	sodium_memzero(plaintext, strlen(plaintext));
	free(plaintext);
	if (rc == CHAT_OK)
		unlink(r->u->cipher_path);
	return rc;
}

/* Where to start: a known upload continues; one the server forgot (or an
 * upload never begun) begins again. */
static int find_position(struct upload_run *r)
{
	int rc;

	if (r->u->upload != NULL) {
		snprintf(r->upload, sizeof(r->upload), "%s", r->u->upload);
		r->chunk_size = E2E_FILE_CHUNK;
		rc = upload_status(r);
		if (rc != CHAT_ERR_REFUSED)
			return rc;
	}
	rc = begin_upload(r);
	r->next = r->received;
	r->generation = r->c->session.generation;
	return rc;
}

/* An upload that can never finish is forgotten (the server deletes what
 * it holds of it after a day). The error message is kept. */
static void drop_upload(struct chat_client *c, const struct client_upload *u)
{
	if (client_state_upload_remove(&c->state, u->id) == 0)
		unlink(u->cipher_path);
}

static int run_upload(struct chat_client *c, const struct client_upload *u,
                      chat_progress_fn progress, void *ctx)
{
	struct upload_run r = {.c = c,
	                       .u = u,
	                       .fd = -1,
	                       .resent_from = -1,
	                       .progress = progress,
	                       .ctx = ctx};
	char blob[E2E_FILE_HASH_BYTES * 2 + 1];
	int rc;

	r.fd = open(u->cipher_path, O_RDONLY | O_CLOEXEC);
	if (r.fd < 0) {
		rc = client_fail(c, CHAT_ERR_IO, "cannot open %s: %s",
		                 u->cipher_path, strerror(errno));
		drop_upload(c, u);
		return rc;
	}
	rc = find_position(&r);
	if (rc == CHAT_OK) {
		r.chunks = (u->cipher_size + r.chunk_size - 1) / r.chunk_size;
		r.buf = malloc((size_t)r.chunk_size);
		if (r.buf == NULL)
			rc =
			    client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	}
	if (rc == CHAT_OK)
		rc = send_chunks(&r);
	if (rc == CHAT_OK)
		rc = end_upload(&r, blob);
	close(r.fd);
	free(r.buf);
	if (rc == CHAT_OK)
		rc = send_file_message(&r, blob);
	if (rc == CHAT_ERR_REFUSED || rc == CHAT_ERR_CRYPTO)
		drop_upload(c, u);
	return rc;
}

/* ---- resuming ---- */

struct resume {
	struct chat_client *c;
	const char *convo; /* only this conversation's upload of path */
	const char *path;
	chat_progress_fn progress;
	void *ctx;
	char cmid[CHAT_CMID_SIZE];
	bool matched;
	int rc;
};

static int resume_one(void *ctx, const struct client_upload *u)
{
	struct resume *res = ctx;
	int rc;

	if (res->convo != NULL && (strcmp(u->convo, res->convo) != 0 ||
	                           strcmp(u->path, res->path) != 0))
		return 0;
	res->matched = true;
	snprintf(res->cmid, sizeof(res->cmid), "%s", u->cmid);
	rc = run_upload(res->c, u, res->progress, res->ctx);
	if (rc != CHAT_OK && res->rc == CHAT_OK)
		res->rc = rc;
	/* Stop at the first that cannot go on for want of the network. */
	return rc == CHAT_ERR_NETWORK || rc == CHAT_ERR_STOPPED ? 1 : 0;
}

int chat_client_resume_uploads(struct chat_client *c)
{
	struct resume res = {.c = c, .rc = CHAT_OK};

	if (client_require_session(c) != CHAT_OK)
		return CHAT_ERR_NETWORK;
	if (client_state_upload_each(&c->state, resume_one, &res) != 0)
		return state_failed(c);
	return res.rc;
}

/* ---- sending a file ---- */

static int encrypt_new(struct chat_client *c, const char *path,
                       const char *type, struct client_upload *u,
                       struct e2e_file_sealed *sealed, char *cipher_path)
{
	char name_buf[PATH_MAX];
	struct stat st;
	const char *why;
	int rc;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return client_fail(c, CHAT_ERR_IO, "%s is not a file", path);
	if (st.st_size > E2E_FILE_MAX)
		return client_fail(c, CHAT_ERR_USAGE,
		                   "%s is larger than 100 MiB", path);
	rc = make_files_dir(c);
	if (rc != CHAT_OK)
		return rc;
	snprintf(cipher_path, PATH_MAX, "%s/%s.enc", c->files_dir, u->cmid);
	if (e2e_file_encrypt(path, cipher_path, sealed, &why) != 0) {
		unlink(cipher_path);
		return client_fail(c, CHAT_ERR_IO, "%s: %s", path, why);
	}
	snprintf(name_buf, sizeof(name_buf), "%s", path);
	u->name = strdup(basename(name_buf));
	u->type = type ? type : guess_type(u->name ? u->name : "");
	u->cipher_path = cipher_path;
	u->file_key = sealed->key;
	u->hash = sealed->hash;
	u->plain_size = sealed->plain_size;
	u->cipher_size = sealed->cipher_size;
	if (u->name == NULL)
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	return CHAT_OK;
}

static int start_upload(struct chat_client *c, const char *convo,
                        const char *path, const char *type,
                        chat_progress_fn progress, void *ctx,
                        char cmid[CHAT_CMID_SIZE])
{
	struct client_upload u = {.convo = convo, .path = path, .cmid = cmid};
	char cipher_path[PATH_MAX];
	struct e2e_file_sealed sealed;
	int rc;

	client_new_id("m", cmid, CHAT_CMID_SIZE);
	rc = encrypt_new(c, path, type, &u, &sealed, cipher_path);
	if (rc == CHAT_OK && client_state_upload_add(&c->state, &u, &u.id))
		rc = state_failed(c);
	if (rc == CHAT_OK)
		rc = run_upload(c, &u, progress, ctx);
	else
		unlink(cipher_path);
	sodium_memzero(&sealed, sizeof(sealed));
	free((char *)u.name);
	return rc;
}

int chat_client_send_file(struct chat_client *c, const char *convo,
                          const char *path, const char *type,
                          chat_progress_fn progress, void *ctx,
                          char cmid_out[CHAT_CMID_SIZE])
{
	struct resume res = {.c = c,
	                     .convo = convo,
	                     .progress = progress,
	                     .ctx = ctx,
	                     .rc = CHAT_OK};
	char full[PATH_MAX], cmid[CHAT_CMID_SIZE];
	int rc;

	if (!chat_valid_convo_id(convo) || path == NULL)
		return client_fail(c, CHAT_ERR_USAGE,
		                   "invalid conversation id or path");
	if (client_require_session(c) != CHAT_OK)
		return CHAT_ERR_NETWORK;
	if (realpath(path, full) == NULL)
		return client_fail(c, CHAT_ERR_IO, "%s: %s", path,
		                   strerror(errno));
	/* An interrupted send of this file to this conversation goes on. */
	res.path = full;
	if (client_state_upload_each(&c->state, resume_one, &res) != 0)
		return state_failed(c);
	if (res.matched) {
		rc = res.rc;
		memcpy(cmid, res.cmid, sizeof(cmid));
	} else {
		rc = start_upload(c, convo, full, type, progress, ctx, cmid);
	}
	if (rc == CHAT_OK && cmid_out != NULL)
		memcpy(cmid_out, cmid, CHAT_CMID_SIZE);
	return rc;
}

/* ---- downloading ---- */

struct chunk_wait {
	char id[CHAT_CMID_MAX + 1];
};

static bool is_chunk_answer(struct client_incoming *e, void *ctx)
{
	struct chunk_wait *w = ctx;
	const char *id;

	if (e->kind == CLIENT_IN_RESP) {
		id = client_json_string(client_incoming_json(e), "id");
		return id != NULL && strcmp(id, w->id) == 0;
	}
	if (e->kind == CLIENT_IN_BLOB) {
		const char *nl = memchr(e->payload, '\n', e->len);
		cJSON *header;
		bool match;

		if (nl == NULL)
			return false;
		header = cJSON_ParseWithLength(e->payload,
		                               (size_t)(nl - e->payload));
		id = client_json_string(header, "id");
		match = id != NULL && strcmp(id, w->id) == 0;
		cJSON_Delete(header);
		return match;
	}
	return false;
}

static cJSON *chunk_request(const char *blob, long long index,
                            struct chunk_wait *w)
{
	cJSON *req = client_new_request("blob_get");

	client_new_id("b", w->id, sizeof(w->id));
	if (req == NULL || !cJSON_AddStringToObject(req, "id", w->id) ||
	    !cJSON_AddStringToObject(req, "blob", blob) ||
	    !cJSON_AddNumberToObject(req, "index", (double)index)) {
		cJSON_Delete(req);
		return NULL;
	}
	return req;
}

/*
 * Fetches one chunk: the answer is a blob payload (header line, then the
 * bytes) or a refusal on resp. Sent again after a reconnect or silence
 * (same id), and after busy or rate_limited (new id). *e receives the
 * blob entry.
 */
static int fetch_chunk(struct chat_client *c, const char *blob, long long index,
                       struct client_incoming **e)
{
	long long deadline = client_monotonic_ms() + CHUNK_TIMEOUT_MS;
	long long sent_at = 0, retry_at = 0;
	unsigned generation = 0;
	struct chunk_wait w;
	cJSON *req = chunk_request(blob, index, &w);
	int rc = CHAT_ERR_NETWORK;

	if (req == NULL)
		return client_fail(c, CHAT_ERR_NO_MEMORY, "out of memory");
	while (client_monotonic_ms() < deadline) {
		long long now = client_monotonic_ms();
		struct client_incoming *got;

		if (retry_at != 0 && now >= retry_at) {
			cJSON_Delete(req);
			req = chunk_request(blob, index, &w);
			if (req == NULL)
				return client_fail(c, CHAT_ERR_NO_MEMORY,
				                   "out of memory");
			retry_at = sent_at = 0;
		}
		if (c->session.ready && retry_at == 0 &&
		    (sent_at == 0 || generation != c->session.generation ||
		     now - sent_at > CHUNK_RESEND_MS)) {
			client_session_publish_json(
			    &c->session, c->session.topics.request, req);
			sent_at = now;
			generation = c->session.generation;
		}
		if (client_session_pump(&c->session, PUMP_MS) != 0) {
			rc = client_fail(c, CHAT_ERR_AUTH, "%s",
			                 c->session.error);
			break;
		}
		got = client_session_take(&c->session, is_chunk_answer, &w);
		if (got == NULL)
			continue;
		if (got->kind == CLIENT_IN_BLOB) {
			*e = got;
			rc = CHAT_OK;
			break;
		}
		rc = CHAT_OK;
		if (!client_json_true(got->json, "ok")) {
			const char *code = client_response_code(got->json);

			if (strcmp(code, "busy") == 0 ||
			    strcmp(code, "rate_limited") == 0 ||
			    strcmp(code, "unavailable") == 0) {
				retry_at = now + CHUNK_RETRY_MS;
			} else {
				rc = client_fail(
				    c, CHAT_ERR_REFUSED,
				    "blob_get refused: "
				    "%s (%s)",
				    client_response_message(got->json), code);
			}
		}
		client_incoming_free(got);
		if (rc != CHAT_OK)
			break;
		rc = CHAT_ERR_NETWORK;
	}
	cJSON_Delete(req);
	if (rc == CHAT_ERR_NETWORK)
		client_fail(c, rc, "no chunk %lld of %s in time", index, blob);
	return rc;
}

/* The reference a file message holds. */
struct file_ref {
	char blob[E2E_FILE_HASH_BYTES * 2 + 1];
	unsigned char key[E2E_FILE_KEY_BYTES];
	unsigned char hash[E2E_FILE_HASH_BYTES];
	long long size;
	bool found;
	bool is_file;
};

static int read_file_ref(void *ctx, const struct client_message *m)
{
	struct file_ref *ref = ctx;
	const cJSON *file;
	cJSON *root;
	const char *blob;

	ref->found = true;
	if (m->kind == NULL || strcmp(m->kind, CLIENT_KIND_FILE) != 0 ||
	    m->content == NULL)
		return 0;
	root = cJSON_Parse(m->content);
	file = cJSON_GetObjectItemCaseSensitive(root, "file");
	blob = client_json_string(file, "blob");
	if (blob != NULL && strlen(blob) < sizeof(ref->blob) &&
	    e2e_b64_decode_exact(client_json_string(file, "key"), ref->key,
	                         sizeof(ref->key)) == 0 &&
	    e2e_b64_decode_exact(client_json_string(file, "hash"), ref->hash,
	                         sizeof(ref->hash)) == 0 &&
	    client_json_integer(file, "size", &ref->size) == 0) {
		snprintf(ref->blob, sizeof(ref->blob), "%s", blob);
		ref->is_file = true;
	}
	cJSON_Delete(root);
	return 0;
}

static int find_file_ref(struct chat_client *c, const char *convo,
                         long long seq, struct file_ref *ref)
{
	int rc =
	    client_state_message(&c->state, convo, seq, read_file_ref, ref);

	if (rc < 0)
		return state_failed(c);
	if (rc == 1) {
		/* Not held yet: catch the conversation up and look again. */
		rc = client_sync_convo(c, convo);
		if (rc != CHAT_OK)
			return rc;
		if (client_state_message(&c->state, convo, seq, read_file_ref,
		                         ref) < 0)
			return state_failed(c);
	}
	if (!ref->found)
		return client_fail(c, CHAT_ERR_NOT_FOUND,
		                   "no message %lld in %s", seq, convo);
	if (!ref->is_file)
		return client_fail(c, CHAT_ERR_NOT_FOUND,
		                   "message %lld of %s is not a readable file",
		                   seq, convo);
	return CHAT_OK;
}

/* Appends one blob payload (after its header line) to the ciphertext. */
static int write_chunk(struct chat_client *c, struct client_incoming *e,
                       long long index, const struct file_ref *ref, int fd,
                       crypto_generichash_state *h, long long *total,
                       long long *chunks)
{
	const char *nl = memchr(e->payload, '\n', e->len);
	size_t header_len = (size_t)(nl - e->payload);
	size_t len = e->len - header_len - 1;
	cJSON *header = cJSON_ParseWithLength(e->payload, header_len);
	const char *blob = client_json_string(header, "blob");
	long long got_index = -1, count = -1;
	bool other_blob = blob != NULL && strcmp(blob, ref->blob) != 0;
	int rc = CHAT_OK;

	client_json_integer(header, "index", &got_index);
	client_json_integer(header, "chunks", &count);
	cJSON_Delete(header);
	/* nl is there: is_chunk_answer found the header line. */
	if (other_blob || got_index != index || count < 1 ||
	    (*chunks >= 0 && count != *chunks))
		return client_fail(c, CHAT_ERR_REFUSED,
		                   "unexpected chunk from the server");
	*chunks = count;
	*total += (long long)len;
	if (*total > e2e_file_cipher_size(E2E_FILE_MAX))
		return client_fail(c, CHAT_ERR_CRYPTO, "file larger than sent");
	crypto_generichash_update(h, (const unsigned char *)nl + 1, len);
	if (write(fd, nl + 1, len) != (ssize_t)len)
		rc = client_fail(c, CHAT_ERR_IO, "cannot write: %s",
		                 strerror(errno));
	return rc;
}

static int download(struct chat_client *c, const struct file_ref *ref,
                    const char *cipher_path)
{
	unsigned char hash[E2E_FILE_HASH_BYTES];
	crypto_generichash_state h;
	long long chunks = -1, total = 0;
	int rc = CHAT_OK;
	int fd =
	    open(cipher_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return client_fail(c, CHAT_ERR_IO, "cannot create %s: %s",
		                   cipher_path, strerror(errno));
	crypto_generichash_init(&h, NULL, 0, sizeof(hash));
	for (long long index = 0;
	     rc == CHAT_OK && (chunks < 0 || index < chunks); index++) {
		struct client_incoming *e = NULL;

		rc = fetch_chunk(c, ref->blob, index, &e);
		if (rc == CHAT_OK)
			rc = write_chunk(c, e, index, ref, fd, &h, &total,
			                 &chunks);
		client_incoming_free(e);
	}
	if (close(fd) != 0 && rc == CHAT_OK)
		rc =
		    client_fail(c, CHAT_ERR_IO, "cannot write %s", cipher_path);
	crypto_generichash_final(&h, hash, sizeof(hash));
	if (rc == CHAT_OK && sodium_memcmp(hash, ref->hash, sizeof(hash)) != 0)
		rc = client_fail(c, CHAT_ERR_CRYPTO,
		                 "the file's hash does not match: altered or "
		                 "incomplete");
	return rc;
}

static int decrypt_to(struct chat_client *c, const struct file_ref *ref,
                      const char *cipher_path, const char *out_path)
{
	char part[PATH_MAX];
	long long size = 0;
	const char *why;

	snprintf(part, sizeof(part), "%s.part", out_path);
	if (e2e_file_decrypt(cipher_path, part, ref->key, &size, &why) != 0) {
		unlink(part);
		return client_fail(c, CHAT_ERR_CRYPTO, "cannot decrypt: %s",
		                   why);
	}
	if (size != ref->size) {
		unlink(part);
		return client_fail(c, CHAT_ERR_CRYPTO,
		                   "the file has %lld bytes, the message said "
		                   "%lld",
		                   size, ref->size);
	}
	if (rename(part, out_path) != 0) {
		unlink(part);
		return client_fail(c, CHAT_ERR_IO, "cannot write %s: %s",
		                   out_path, strerror(errno));
	}
	return CHAT_OK;
}

int chat_client_get_file(struct chat_client *c, const char *convo,
                         long long seq, const char *out_path)
{
	struct file_ref ref = {0};
	char cipher_path[PATH_MAX], suffix[32];
	int rc;

	if (!chat_valid_convo_id(convo) || seq < 1 || out_path == NULL)
		return client_fail(c, CHAT_ERR_USAGE,
		                   "invalid conversation id, seq or path");
	if (client_require_session(c) != CHAT_OK)
		return CHAT_ERR_NETWORK;
	rc = find_file_ref(c, convo, seq, &ref);
	if (rc == CHAT_OK)
		rc = make_files_dir(c);
	if (rc != CHAT_OK)
		return rc;
	client_new_id("get-", suffix, sizeof(suffix));
	snprintf(cipher_path, sizeof(cipher_path), "%s/%s.enc", c->files_dir,
	         suffix);
	rc = download(c, &ref, cipher_path);
	if (rc == CHAT_OK)
		rc = decrypt_to(c, &ref, cipher_path, out_path);
	unlink(cipher_path);
	sodium_memzero(&ref, sizeof(ref));
	return rc;
}
