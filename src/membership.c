/*
 * Fleet membership through etcd.
 *
 * One sequence, run at start and after every failure, on one endpoint:
 *   [authenticate] -> lease (keep ours if etcd still has it, else grant)
 *   -> register PREFIX/members/NAME (txn: only if no one holds the name)
 *   -> range PREFIX/members/ (in pages, at one revision) -> apply
 *   -> watch from that revision + 1, applying each batch of events.
 * A failure anywhere cancels the calls, moves to the next endpoint and
 * runs it again after a capped, jittered backoff; the members stay as they
 * were meanwhile, so traffic between them goes on. A watch whose revision
 * was compacted ranges again: the difference is what gets applied. The
 * lease is kept alive every ttl/3; if etcd forgot it (a partition longer
 * than the ttl), we register again.
 *
 * Applying is the reload's path: membership_merge() makes a new
 * configuration (the file's peers, then the members), daemon_apply()
 * diffs it and carries unchanged peers over.
 */
#include <sys/stat.h>

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "etcd.h"
#include "log.h"
#include "membership.h"
#include "ovtund.h"

#define REPLY_MAX		(8u << 20)	/* bytes of one reply or event batch */
#define RANGE_PAGE		256		/* keys per range reply, at most */
#define KEY_MAX			512		/* bytes of a key we look at */
#define BACKOFF_MIN_MS		200
#define BACKOFF_MAX_MS		4000
#define SNAPSHOT_DELAY_MS	1000
#define AUTH_TIMEOUT_MS		5000		/* coalesces the writes */
#define SNAPSHOT_MAX		(64u << 20)
/* base64 of MEMBER_VALUE_MAX bytes: a longer value is oversized. */
#define MEMBERS_PREFIX_MAX	(sizeof(((struct etcd_params *)0)->prefix) + \
				    sizeof("/members/"))
#define VALUE_B64_MAX		((MEMBER_VALUE_MAX + 2) / 3 * 4)

struct mentry {
	struct member	m;
	long long	create_rev;	/* who came first, on a clash */
};

struct mtable {
	struct mentry	*e;
	size_t		 n, cap;
};

enum step {
	STEP_BACKOFF,
	STEP_AUTH,
	STEP_LEASE,
	STEP_REGISTER,
	STEP_RANGE,
	STEP_WATCH,
};

static const char *const step_names[] = {
	[STEP_BACKOFF] = "backoff",
	[STEP_AUTH] = "authenticating",
	[STEP_LEASE] = "lease",
	[STEP_REGISTER] = "registering",
	[STEP_RANGE] = "syncing",
	[STEP_WATCH] = "watching",
};

struct membership {
	struct daemon		*d;
	struct etcd_params	 p;		/* a copy: d->cfg changes */
	struct etcd		*etcd;
	char			 members_prefix[MEMBERS_PREFIX_MAX];
	char			 our_key[MEMBERS_PREFIX_MAX + 64];
	char			*entry;		/* our member entry, JSON */
	enum step		 step;
	bool			 registered;
	bool			 conflict;	/* another daemon has our name */
	long long		 lease;		/* 0: none */
	long long		 ttl_s;
	uint64_t		 ttl_at_ms;
	long long		 revision;
	struct mtable		 members;
	/* A range in progress, page by page, at range_rev. */
	struct mtable		 ranging;
	long long		 range_rev;
	char			 range_from[KEY_MAX + 1];
	unsigned		 page;
	uint64_t		 refused[MEMBER__COUNT];
	unsigned		 not_applied[MEMBER__COUNT];
	size_t			 applied;
	unsigned		 failures;	/* in a row */
	uint64_t		 reconnects;
	char			 last_error[1100];
	struct etcd_call	*keepalive;	/* in flight */
	struct event		*retry, *keepalive_timer, *snapshot_timer;
};

static void	run(struct membership *);
static void	fail(struct membership *, const char *, const char *);
static void	step_lease(struct membership *);
static void	step_register(struct membership *);
static void	step_range(struct membership *);
static void	step_watch(struct membership *);

static bool
is_self(const struct membership *ms, const char *name)
{
	return strcmp(name, ms->p.name) == 0;
}

/* The member table, by name. */

static struct mentry *
mtable_find(struct mtable *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->e[i].m.name, name) == 0)
			return &t->e[i];
	return NULL;
}

static bool
mtable_remove(struct mtable *t, const char *name)
{
	struct mentry *e = mtable_find(t, name);

	if (e == NULL)
		return false;
	*e = t->e[--t->n];
	return true;
}

/* Puts m in t; false when t is at limit (and m new) or out of memory. */
static bool
mtable_put(struct mtable *t, const struct member *m, long long create_rev,
    size_t limit)
{
	struct mentry *e = mtable_find(t, m->name), *grown;
	size_t cap;

	if (e == NULL) {
		if (t->n >= limit)
			return false;
		if (t->n == t->cap) {
			cap = t->cap ? t->cap * 2 : 16;
			if ((grown = realloc(t->e, cap * sizeof(*grown))) ==
			    NULL)
				return false;
			t->e = grown;
			t->cap = cap;
		}
		e = &t->e[t->n++];
	}
	e->m = *m;
	e->create_rev = create_rev;
	return true;
}

static void
mtable_free(struct mtable *t)
{
	free(t->e);
	memset(t, 0, sizeof(*t));
}

static void
set_error(struct membership *ms, const char *what, const char *err)
{
	snprintf(ms->last_error, sizeof(ms->last_error), "%s: %s", what, err);
}

/* Another endpoint, after a pause that grows with the failures in a row:
 * the first try on each endpoint comes quickly, then 200 ms doubling up
 * to 4 s, each drawn from [d/2, d] so a fleet does not retry in step. */
static void
fail(struct membership *ms, const char *what, const char *err)
{
	unsigned n = ms->failures++, d;
	struct timeval tv;

	set_error(ms, what, err);
	log_rl(LOG_WARNING, "etcd %s: %s: %s", etcd_endpoint(ms->etcd), what,
	    err);
	etcd_cancel_all(ms->etcd);
	ms->keepalive = NULL;
	ms->reconnects++;
	etcd_next_endpoint(ms->etcd);
	if (n < ms->p.n_endpoints)
		d = 50;
	else {
		n -= ms->p.n_endpoints;
		d = n >= 5 ? BACKOFF_MAX_MS : BACKOFF_MIN_MS << n;
		if (d > BACKOFF_MAX_MS)
			d = BACKOFF_MAX_MS;
	}
	d = d / 2 + randombytes_uniform(d / 2 + 1);
	tv.tv_sec = d / 1000;
	tv.tv_usec = (d % 1000) * 1000;
	ms->step = STEP_BACKOFF;
	evtimer_add(ms->retry, &tv);
}

static json_t *
b64s(const char *s)
{
	return etcd_b64(s, strlen(s));
}

/* The key just after every key that starts with prefix. */
static json_t *
range_end(const char *prefix)
{
	char end[KEY_MAX];
	size_t len = strlen(prefix);

	memcpy(end, prefix, len);
	end[len - 1]++;		/* '/' + 1: the prefix ends in '/' */
	return etcd_b64(end, len);
}

/* Snapshot: the members and the last revision, written atomically (a
 * temporary file, fsync, rename), read at start. */

static json_t *
snapshot_json(const struct membership *ms)
{
	json_t *o = json_object(), *list = json_array();
	char lease[32];

	snprintf(lease, sizeof(lease), "%lld", ms->lease);
	for (size_t i = 0; list != NULL && i < ms->members.n; i++) {
		char *v = member_encode(&ms->members.e[i].m);

		json_array_append_new(list, json_pack("{s:s, s:I, s:s?}",
		    "name", ms->members.e[i].m.name, "create_revision",
		    (json_int_t)ms->members.e[i].create_rev, "value", v));
		free(v);
	}
	json_object_set_new(o, "revision", json_integer(ms->revision));
	json_object_set_new(o, "lease", json_string(lease));
	json_object_set_new(o, "members", list);
	return o;
}

static void
snapshot_save(struct membership *ms)
{
	char tmp[sizeof(ms->p.state_file) + 8];
	json_t *o = snapshot_json(ms);
	int fd = -1, ok = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", ms->p.state_file);
	if (o != NULL &&
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >=
	    0 && json_dumpfd(o, fd, JSON_COMPACT) == 0 && fsync(fd) == 0)
		ok = 1;
	if (fd >= 0 && close(fd) != 0)
		ok = 0;
	if (ok && rename(tmp, ms->p.state_file) == 0)
		log_debug("etcd: snapshot of %zu members saved",
		    ms->members.n);
	else {
		log_rl(LOG_WARNING, "etcd: cannot save the snapshot %s: %s",
		    ms->p.state_file, strerror(errno));
		unlink(tmp);
	}
	json_decref(o);
}

static void
on_snapshot_timer(evutil_socket_t fd, short what, void *arg)
{
	snapshot_save(arg);
}

static void
snapshot_later(struct membership *ms)
{
	static const struct timeval tv = { SNAPSHOT_DELAY_MS / 1000,
	    SNAPSHOT_DELAY_MS % 1000 * 1000 };

	if (!evtimer_pending(ms->snapshot_timer, NULL))
		evtimer_add(ms->snapshot_timer, &tv);
}

/* A missing or unreadable snapshot is no error: etcd will tell. */
static void
snapshot_load(struct membership *ms)
{
	json_t *o, *v;
	json_error_t jerr;
	struct member m;
	long long rev;
	size_t i;

	if (access(ms->p.state_file, F_OK) != 0)
		return;
	o = json_load_file(ms->p.state_file, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o) ||
	    etcd_int(o, "revision", 0, &ms->revision) == -1 ||
	    etcd_int(o, "lease", 0, &ms->lease) == -1 ||
	    !json_is_array(json_object_get(o, "members"))) {
		log_warn("etcd: snapshot %s is not usable, ignored",
		    ms->p.state_file);
		ms->revision = ms->lease = 0;
		json_decref(o);
		return;
	}
	json_array_foreach(json_object_get(o, "members"), i, v) {
		const char *name = json_string_value(json_object_get(v,
		    "name"));
		const char *val = json_string_value(json_object_get(v,
		    "value"));

		if (name == NULL || val == NULL || is_self(ms, name) ||
		    etcd_int(v, "create_revision", 0, &rev) == -1 ||
		    member_decode(name, val, strlen(val), &m) != MEMBER_OK ||
		    !mtable_put(&ms->members, &m, rev, ms->p.member_limit))
			continue;
	}
	json_decref(o);
	log_notice("etcd: %zu members from the snapshot %s (revision %lld)",
	    ms->members.n, ms->p.state_file, ms->revision);
}

/* Applying the members. */

static bool
same_key(const struct peer_config *a, const struct peer_config *b)
{
	return a->has_public_key && b->has_public_key &&
	    memcmp(a->public_key, b->public_key, sizeof(a->public_key)) == 0;
}

static bool
clashes_with_file(const struct config *base, const struct peer_config *pc)
{
	for (size_t i = 0; i < base->n_peers; i++) {
		const struct peer_config *f = &base->peers[i];

		if (f->source == PEER_FILE && (strcmp(f->name, pc->name) == 0 ||
		    addr_equal(&f->remote, &pc->remote) || same_key(f, pc)))
			return true;
	}
	return false;
}

/* The family every peer must share: local's, else the file's peers'. */
static sa_family_t
peer_family(const struct config *base)
{
	if (base->local.family != 0)
		return base->local.family;
	for (size_t i = 0; i < base->n_peers; i++)
		if (base->peers[i].source == PEER_FILE)
			return base->peers[i].remote.family;
	return 0;
}

/*
 * The static peers win a clash of name or address with a member: the
 * file is this host's operator speaking, while anyone with write access
 * to the prefix can publish an entry, and must not take over a peer
 * configured by hand. Between members with one address, the first
 * registered (lowest create revision) wins.
 */
struct config *
membership_merge(struct membership *ms, const struct config *base)
{
	size_t i, j, n = 0, count = ms->members.n;
	sa_family_t family = peer_family(base);
	enum member_refusal *r;
	struct peer_config *pcs;
	struct config *c = NULL;

	memset(ms->not_applied, 0, sizeof(ms->not_applied));
	pcs = calloc(count + 1, sizeof(*pcs));
	r = calloc(count + 1, sizeof(*r));
	if (pcs == NULL || r == NULL)
		goto out;
	for (i = 0; i < count; i++) {
		r[i] = member_to_peer(&ms->members.e[i].m, base, family,
		    &pcs[i]);
		if (r[i] == MEMBER_OK && (clashes_with_file(base, &pcs[i]) ||
		    addr_equal(&pcs[i].remote, &base->local)))
			r[i] = MEMBER_CLASH;
		if (r[i] == MEMBER_OK && family == 0)
			family = pcs[i].remote.family;
	}
	for (i = 0; i < count; i++) {
		const struct mentry *e = &ms->members.e[i];

		for (j = 0; r[i] == MEMBER_OK && j < count; j++) {
			const struct mentry *o = &ms->members.e[j];

			if (j != i && r[j] == MEMBER_OK &&
			    (addr_equal(&pcs[i].remote, &pcs[j].remote) ||
			    same_key(&pcs[i], &pcs[j])) &&
			    (o->create_rev < e->create_rev ||
			    (o->create_rev == e->create_rev && j < i)))
				r[i] = MEMBER_CLASH;
		}
		if (r[i] != MEMBER_OK)
			ms->not_applied[r[i]]++;
		else
			pcs[n++] = pcs[i];
	}
	c = config_with_peers(base, pcs, n);
	ms->applied = n;
out:
	if (pcs != NULL)
		sodium_memzero(pcs, (count + 1) * sizeof(*pcs));
	free(pcs);
	free(r);
	return c;
}

/* The members as they are now become the peers, the reload's way. */
static void
apply(struct membership *ms)
{
	struct daemon *d = ms->d;
	struct reload_result r = { 0 };
	struct config *next;

	if ((next = membership_merge(ms, d->cfg)) == NULL) {
		set_error(ms, "apply", "out of memory");
		return;
	}
	if (daemon_apply(d, next, &r) < 0) {
		set_error(ms, "apply", r.msg);
		log_err("etcd: members not applied: %s", r.msg);
	} else {
		log_info("etcd: revision %lld: %s", ms->revision, r.msg);
	}
	snapshot_later(ms);
}

/* One key-value of a range or an event into t; false if t did not
 * change. Refusals are counted, and logged at a bounded rate. */
static bool
take_kv(struct membership *ms, struct mtable *t, json_t *kv, bool deleted)
{
	char key[KEY_MAX + 1], name[64], value[MEMBER_VALUE_MAX];
	json_t *v = json_object_get(kv, "value");
	enum member_refusal r;
	long long create_rev, mod_rev;
	struct member m;
	size_t klen, vlen;

	if (etcd_unb64(json_object_get(kv, "key"), key, KEY_MAX, &klen) ==
	    -1 || member_name_of_key(key, klen, ms->members_prefix, name) !=
	    MEMBER_OK) {
		r = MEMBER_BAD_NAME;
		snprintf(name, sizeof(name), "?");
		goto refused;
	}
	if (is_self(ms, name)) {
		/* Our entry deleted under a live lease: put it back. */
		if (deleted && ms->registered && ms->step == STEP_WATCH) {
			ms->registered = false;
			step_register(ms);
		}
		return false;
	}
	if (deleted)
		return mtable_remove(t, name);
	if (json_is_string(v) && json_string_length(v) > VALUE_B64_MAX)
		r = MEMBER_OVERSIZED;
	else if (etcd_unb64(v, value, sizeof(value), &vlen) == -1 ||
	    etcd_int(kv, "create_revision", 0, &create_rev) == -1)
		r = MEMBER_MALFORMED;
	else if ((r = member_decode(name, value, vlen, &m)) == MEMBER_OK) {
		if (mtable_put(t, &m, create_rev, ms->p.member_limit))
			return true;
		r = MEMBER_LIMIT;
	}
refused:
	/* Counted once: not again when a resync ranges it. */
	if (etcd_int(kv, "mod_revision", 0, &mod_rev) == -1 ||
	    mod_rev > ms->revision) {
		ms->refused[r]++;
		log_rl(LOG_WARNING, "etcd: member entry '%s' refused: %s",
		    name, member_refusal_name(r));
	}
	/* An entry that turned bad is gone, not kept as it was. */
	return r != MEMBER_BAD_NAME && mtable_remove(t, name);
}

static unsigned
call_timeout_ms(const struct membership *ms)
{
	unsigned t = ms->p.ttl * 1000 / 3;

	return t < 1000 ? 1000 : t;
}

static void
post(struct membership *ms, const char *path, json_t *body,
    etcd_reply_fn *cb)
{
	if (etcd_post(ms->etcd, path, body, false, call_timeout_ms(ms),
	    REPLY_MAX, cb, ms) == NULL)
		fail(ms, path, "out of memory");
}

static json_t *
lease_request(long long id)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", id);
	return json_pack("{s:s}", "ID", s);
}

/* A keepalive's TTL: > 0 while etcd has the lease, 0 once it forgot it. */
static bool
lease_ttl(json_t *reply, long long *ttl)
{
	return etcd_int(json_object_get(reply, "result"), "TTL", 0, ttl) ==
	    0 && *ttl > 0;
}

/* A keepalive's answer: the lease lives on, or etcd forgot it (a
 * partition longer than the ttl; our entry went with it): register
 * again. starting: the sequence goes on to register. */
static void
lease_answer(struct membership *ms, json_t *reply, const char *err,
    bool starting)
{
	long long ttl;

	if (reply == NULL) {
		fail(ms, "lease keepalive", err);
		return;
	}
	if (lease_ttl(reply, &ttl)) {
		ms->ttl_s = ttl;
		ms->ttl_at_ms = clock_ms();
		if (starting)
			step_register(ms);
	} else {
		log_warn("etcd: lease %llx expired: registering again",
		    (unsigned long long)ms->lease);
		set_error(ms, "lease", "expired, registered again");
		ms->lease = 0;
		ms->registered = false;
		ms->ttl_s = -1;
		step_lease(ms);
	}
	json_decref(reply);
}

static void
on_keepalive(json_t *reply, const char *err, void *arg)
{
	struct membership *ms = arg;

	ms->keepalive = NULL;
	lease_answer(ms, reply, err, false);
}

/* Every ttl/3 while watching; a name held by another daemon is tried
 * again each time too. */
static void
on_keepalive_timer(evutil_socket_t fd, short what, void *arg)
{
	struct membership *ms = arg;

	if (ms->step != STEP_WATCH || ms->keepalive != NULL)
		return;
	if (ms->lease != 0)
		ms->keepalive = etcd_post(ms->etcd, "/v3/lease/keepalive",
		    lease_request(ms->lease), false, call_timeout_ms(ms),
		    REPLY_MAX, on_keepalive, ms);
	if (ms->conflict)
		step_register(ms);
}

/* The sequence. */

static void
on_auth(json_t *reply, const char *err, void *arg)
{
	struct membership *ms = arg;
	const char *token = json_string_value(json_object_get(reply,
	    "token"));

	if (token == NULL)
		fail(ms, "authenticate", err ? err : "no token");
	else {
		etcd_set_token(ms->etcd, token);
		step_lease(ms);
	}
	json_decref(reply);
}

static void
on_grant(json_t *reply, const char *err, void *arg)
{
	struct membership *ms = arg;
	long long id, ttl;

	if (reply == NULL || etcd_int(reply, "ID", 0, &id) == -1 || id == 0 ||
	    etcd_int(reply, "TTL", 0, &ttl) == -1 || ttl <= 0)
		fail(ms, "lease grant", err ? err : "no lease");
	else {
		ms->lease = id;
		ms->ttl_s = ttl;
		ms->ttl_at_ms = clock_ms();
		step_register(ms);
	}
	json_decref(reply);
}

/* Is our lease still there? Then we keep it, and our entry. */
static void
on_lease_check(json_t *reply, const char *err, void *arg)
{
	lease_answer(arg, reply, err, true);
}

static void
step_lease(struct membership *ms)
{
	if (ms->step != STEP_WATCH)
		ms->step = STEP_LEASE;
	if (ms->lease != 0)
		post(ms, "/v3/lease/keepalive", lease_request(ms->lease),
		    on_lease_check);
	else
		post(ms, "/v3/lease/grant", json_pack("{s:I}", "TTL",
		    (json_int_t)ms->p.ttl), on_grant);
}

static void
run(struct membership *ms)
{
	if (ms->p.username[0] == '\0') {
		step_lease(ms);
		return;
	}
	ms->step = STEP_AUTH;
	etcd_set_token(ms->etcd, "");
	/* etcd checks the password with bcrypt: slow on purpose. */
	if (etcd_post(ms->etcd, "/v3/auth/authenticate", json_pack(
	    "{s:s, s:s}", "name", ms->p.username, "password", ms->p.password),
	    false, AUTH_TIMEOUT_MS, REPLY_MAX, on_auth, ms) == NULL)
		fail(ms, "authenticate", "out of memory");
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	run(arg);
}

/* Registered (or not, if the name is taken): on to the members, unless
 * they are being watched already: from the revision after the last one
 * seen (before a failure, or in the snapshot), so nothing is missed; a
 * full read only the first time, or when that revision is compacted. */
static void
registered(struct membership *ms)
{
	if (ms->step == STEP_WATCH)
		return;
	if (ms->revision > 0)
		step_watch(ms);
	else
		step_range(ms);
}

static void
on_put(json_t *reply, const char *err, void *arg)
{
	struct membership *ms = arg;

	json_decref(reply);
	if (err != NULL) {
		fail(ms, "put", err);
		return;
	}
	ms->registered = true;
	ms->conflict = false;
	registered(ms);
}

static json_t *
put_request(const struct membership *ms)
{
	char id[32];

	snprintf(id, sizeof(id), "%lld", ms->lease);
	return json_pack("{s:o, s:o, s:s}", "key", b64s(ms->our_key),
	    "value", b64s(ms->entry), "lease", id);
}

/* Our name is taken: by us (a retry, or before a restart: the lease
 * from the snapshot, still alive, is ours to go on with, so the others
 * see our entry change at most, never go), or by another daemon, which
 * keeps it. */
static void
name_taken(struct membership *ms, json_t *kv)
{
	long long holder = 0;

	etcd_int(kv, "lease", 0, &holder);
	if (holder != 0 && holder == ms->lease) {
		post(ms, "/v3/kv/put", put_request(ms), on_put);
		return;
	}
	if (!ms->conflict)
		log_err("etcd: the name '%s' is held by another daemon (lease "
		    "%llx): not registered, trying again every %u s",
		    ms->p.name, (unsigned long long)holder,
		    call_timeout_ms(ms) / 1000);
	snprintf(ms->last_error, sizeof(ms->last_error), "register: the name "
	    "'%s' is held by another daemon", ms->p.name);
	ms->conflict = true;
	ms->registered = false;
	registered(ms);
}

static void
on_txn(json_t *reply, const char *err, void *arg)
{
	struct membership *ms = arg;
	json_t *resp, *kvs;

	if (reply == NULL) {
		fail(ms, "register", err);
		return;
	}
	if (json_is_true(json_object_get(reply, "succeeded"))) {
		log_notice("etcd: registered as %s (lease %llx, ttl %u s)",
		    ms->our_key, (unsigned long long)ms->lease, ms->p.ttl);
		ms->registered = true;
		ms->conflict = false;
		registered(ms);
	} else {
		resp = json_array_get(json_object_get(reply, "responses"), 0);
		kvs = json_object_get(json_object_get(resp, "response_range"),
		    "kvs");
		if (json_array_size(kvs) == 0)
			step_register(ms);	/* gone meanwhile: again */
		else
			name_taken(ms, json_array_get(kvs, 0));
	}
	json_decref(reply);
}

/* Creates our entry only if no one has it: a second daemon with our name
 * is refused, never overwritten. */
static void
step_register(struct membership *ms)
{
	char id[32];

	if (ms->step != STEP_WATCH)
		ms->step = STEP_REGISTER;
	snprintf(id, sizeof(id), "%lld", ms->lease);
	post(ms, "/v3/kv/txn", json_pack(
	    "{s:[{s:s, s:o, s:s}], s:[{s:{s:o, s:o, s:s}}], s:[{s:{s:o}}]}",
	    "compare", "target", "CREATE", "key", b64s(ms->our_key),
	    "create_revision", "0",
	    "success", "request_put", "key", b64s(ms->our_key), "value",
	    b64s(ms->entry), "lease", id,
	    "failure", "request_range", "key", b64s(ms->our_key)), on_txn);
}

static void	range_page(struct membership *);

static void
on_range(json_t *reply, const char *err, void *arg)
{
	struct membership *ms = arg;
	json_t *kvs = json_object_get(reply, "kvs"), *kv;
	long long rev;
	size_t i, klen;

	if (reply == NULL) {
		/* Too much at once (huge values): smaller pages. */
		if (strstr(err, "larger than") != NULL && ms->page > 1) {
			ms->page /= 2;
			range_page(ms);
		} else
			fail(ms, "range", err);
		return;
	}
	if (ms->range_rev == 0 && (etcd_int(json_object_get(reply, "header"),
	    "revision", 0, &rev) == -1 || (ms->range_rev = rev) <= 0)) {
		json_decref(reply);
		fail(ms, "range", "no revision");
		return;
	}
	json_array_foreach(kvs, i, kv)
		take_kv(ms, &ms->ranging, kv, false);
	if (json_is_true(json_object_get(reply, "more")) &&
	    json_array_size(kvs) > 0) {
		/* The next page starts just after the last key. */
		kv = json_array_get(kvs, json_array_size(kvs) - 1);
		if (etcd_unb64(json_object_get(kv, "key"), ms->range_from,
		    KEY_MAX, &klen) == -1) {
			json_decref(reply);
			fail(ms, "range", "bad key");
			return;
		}
		ms->range_from[klen] = '\0';
		json_decref(reply);
		range_page(ms);
		return;
	}
	json_decref(reply);
	mtable_free(&ms->members);
	ms->members = ms->ranging;
	memset(&ms->ranging, 0, sizeof(ms->ranging));
	ms->revision = ms->range_rev;
	apply(ms);
	step_watch(ms);
}

static void
range_page(struct membership *ms)
{
	size_t len = strlen(ms->range_from);

	/* From just after the last key (the key and a NUL), or the
	 * prefix; at the first page's revision. */
	post(ms, "/v3/kv/range", json_pack("{s:o, s:o, s:i, s:I}",
	    "key", len ? etcd_b64(ms->range_from, len + 1) :
	    b64s(ms->members_prefix),
	    "range_end", range_end(ms->members_prefix),
	    "limit", (int)ms->page,
	    "revision", (json_int_t)ms->range_rev), on_range);
}

static void
step_range(struct membership *ms)
{
	ms->step = STEP_RANGE;
	mtable_free(&ms->ranging);
	ms->range_rev = 0;
	ms->range_from[0] = '\0';
	ms->page = RANGE_PAGE;
	range_page(ms);
}

static bool
is_delete(json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));

	return type != NULL && strcmp(type, "DELETE") == 0;
}

static void
on_watch(json_t *reply, const char *err, void *arg)
{
	struct membership *ms = arg;
	json_t *res = json_object_get(reply, "result"), *ev, *kv;
	long long rev, last, compacted = 0;
	bool changed = false;
	size_t i;

	if (reply == NULL) {
		fail(ms, "watch", err);
		return;
	}
	if (json_is_true(json_object_get(res, "canceled"))) {
		etcd_int(res, "compact_revision", 0, &compacted);
		json_decref(reply);
		if (compacted <= 0) {
			fail(ms, "watch", "cancelled");
			return;
		}
		/* What we missed is gone: range again, apply the
		 * difference. */
		log_notice("etcd: revision %lld was compacted (now %lld): "
		    "syncing again", ms->revision + 1, compacted);
		etcd_cancel_all(ms->etcd);
		ms->keepalive = NULL;
		step_range(ms);
		return;
	}
	if (json_is_true(json_object_get(res, "created"))) {
		ms->failures = 0;
		if (!ms->conflict)
			ms->last_error[0] = '\0';
		log_info("etcd %s: watching %s from revision %lld",
		    etcd_endpoint(ms->etcd), ms->members_prefix,
		    ms->revision + 1);
	}
	/* The revision moves once the batch is in: take_kv counts what
	 * is newer than what we had. */
	last = ms->revision;
	json_array_foreach(json_object_get(res, "events"), i, ev) {
		kv = json_object_get(ev, "kv");
		changed |= take_kv(ms, &ms->members, kv, is_delete(ev));
		if (etcd_int(kv, "mod_revision", 0, &rev) == 0 && rev > last)
			last = rev;
	}
	ms->revision = last;
	json_decref(reply);
	if (changed)
		apply(ms);
	else
		snapshot_later(ms);	/* the revision moved */
}

static void
step_watch(struct membership *ms)
{
	ms->step = STEP_WATCH;
	if (etcd_post(ms->etcd, "/v3/watch", json_pack("{s:{s:o, s:o, s:I}}",
	    "create_request", "key", b64s(ms->members_prefix),
	    "range_end", range_end(ms->members_prefix),
	    "start_revision", (json_int_t)ms->revision + 1), true, 0,
	    REPLY_MAX, on_watch, ms) == NULL)
		fail(ms, "watch", "out of memory");
}

/* Our own entry, from the configuration and the TAP. */
static char *
our_entry(const struct daemon *d, const struct etcd_params *p)
{
	const struct config *cfg = d->cfg;
	struct member m = { 0 };
	struct encryption_params enc;
	char *json;

	memcpy(m.name, p->name, sizeof(m.name));
	memcpy(m.addrs, p->advertise, sizeof(m.addrs));
	m.n_addrs = p->n_advertise;
	m.tun = cfg->tun;
	m.mtu = d->tap.mtu;
	m.has_public_key = cfg->private_key != NULL;
	memcpy(m.public_key, cfg->public_key, sizeof(m.public_key));
	member_encryption(cfg, &enc);
	m.encrypted = enc.enabled;
	m.cipher = enc.cipher;
	m.transport = enc.transport;
	m.handshake_port = enc.handshake_port;
	json = member_encode(&m);
	sodium_memzero(&enc, sizeof(enc));
	return json;
}

/* The snapshot's directory, made if missing (one level). */
static void
state_dir(const char *file)
{
	char dir[4096], *slash;

	snprintf(dir, sizeof(dir), "%s", file);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0750) == -1 && errno != EEXIST)
		log_warn("etcd: cannot create %s: %s", dir, strerror(errno));
}

struct membership *
membership_new(struct daemon *d, char *err, size_t errlen)
{
	struct membership *ms;

	if ((ms = calloc(1, sizeof(*ms))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ms->d = d;
	ms->p = d->cfg->etcd;
	ms->ttl_s = -1;
	snprintf(ms->members_prefix, sizeof(ms->members_prefix),
	    "%s/members/", ms->p.prefix);
	snprintf(ms->our_key, sizeof(ms->our_key), "%s%s",
	    ms->members_prefix, ms->p.name);
	if ((ms->etcd = etcd_new(d->base, &ms->p, err, errlen)) == NULL) {
		free(ms);
		return NULL;
	}
	ms->retry = evtimer_new(d->base, on_retry, ms);
	ms->keepalive_timer = event_new(d->base, -1, EV_PERSIST,
	    on_keepalive_timer, ms);
	ms->snapshot_timer = evtimer_new(d->base, on_snapshot_timer, ms);
	if (ms->retry == NULL || ms->keepalive_timer == NULL ||
	    ms->snapshot_timer == NULL) {
		snprintf(err, errlen, "out of memory");
		membership_free(ms, false);
		return NULL;
	}
	state_dir(ms->p.state_file);
	snapshot_load(ms);
	return ms;
}

void
membership_start(struct membership *ms)
{
	unsigned every = ms->p.ttl * 1000 / 3;
	struct timeval tv = { every / 1000, every % 1000 * 1000 };

	/* The TAP is up now: its MTU goes into our entry. */
	if ((ms->entry = our_entry(ms->d, &ms->p)) == NULL) {
		log_err("etcd: out of memory: not a member");
		return;
	}
	evtimer_add(ms->keepalive_timer, &tv);
	run(ms);
}

void
membership_free(struct membership *ms, bool clean)
{
	if (ms == NULL)
		return;
	if (ms->etcd != NULL)
		etcd_cancel_all(ms->etcd);
	if (clean && ms->lease != 0 && etcd_post_sync(ms->etcd,
	    "/v3/lease/revoke", lease_request(ms->lease), 1000) == 0) {
		log_info("etcd: lease %llx revoked%s%s",
		    (unsigned long long)ms->lease, ms->registered ?
		    ": gone from " : "", ms->registered ? ms->our_key : "");
		ms->lease = 0;
	}
	if (clean && ms->entry != NULL)
		snapshot_save(ms);
	if (ms->retry != NULL)
		event_free(ms->retry);
	if (ms->keepalive_timer != NULL)
		event_free(ms->keepalive_timer);
	if (ms->snapshot_timer != NULL)
		event_free(ms->snapshot_timer);
	etcd_free(ms->etcd);
	mtable_free(&ms->members);
	mtable_free(&ms->ranging);
	free(ms->entry);
	sodium_memzero(&ms->p, sizeof(ms->p));
	free(ms);
}

void
membership_status(const struct membership *ms, struct membership_status *st)
{
	uint64_t gone;

	memset(st, 0, sizeof(*st));
	st->endpoint = etcd_endpoint(ms->etcd);
	st->state = ms->conflict && ms->step == STEP_WATCH ? "name_conflict" :
	    step_names[ms->step];
	st->registered = ms->registered;
	st->lease = ms->lease;
	st->ttl_left_s = -1;
	if (ms->lease != 0 && ms->ttl_s > 0) {
		gone = (clock_ms() - ms->ttl_at_ms) / 1000;
		st->ttl_left_s = gone < (uint64_t)ms->ttl_s ?
		    ms->ttl_s - (long long)gone : 0;
	}
	st->revision = ms->revision;
	st->members_seen = ms->members.n;
	st->members_applied = ms->applied;
	memcpy(st->refused, ms->refused, sizeof(st->refused));
	memcpy(st->not_applied, ms->not_applied, sizeof(st->not_applied));
	st->reconnects = ms->reconnects;
	st->last_error = ms->last_error[0] ? ms->last_error : NULL;
}
