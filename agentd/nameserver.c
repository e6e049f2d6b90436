/* SPDX-License-Identifier: MIT */
/*
 * nameserver.c - the name server of this host (agentd --listen URL).
 *
 * Erlang finds a node NAME@HOST through epmd on HOST; libagent finds an
 * agent NAME@HOST through HOST's agentd. agentd opens one rep0 socket (raw
 * mode, polled through NNG_OPT_RECVFD like control.c; replies that meet a
 * busy pipe wait in a sendq) with a listener per --listen URL (tcp:// or
 * tls+tcp://, port 0 picks one), logs the URLs it really listens on and
 * writes them to RUNTIME_DIR/listen, one per line.
 *
 * HOST_RESOLVE [name] is answered with HOST_RESOLVE_REPLY [name, [url...],
 * pid, state]: the network inboxes the agent announced in its HELLO
 * (link.c -> nameserver_set_urls), while the process that announced them
 * is the agent's current one and it is starting or running. A pool's unit
 * name picks one of its instances that has network inboxes, round robin;
 * an unknown name is state "unknown". Anything else gets CTL_ERROR and
 * changes nothing; NNG_OPT_RECVMAXSZ makes nng drop an oversized message
 * (and its connection) before we see it. Everything runs on the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/transport/tcp/tcp.h>

#include "agentd.h"
#include "log.h"
#include "macro.h"
#include "nameserver.h"
#include "registry.h"
#include "proto-agent.h"
#include "proto-ctl.h"
#include "proto-link.h"

static char *listen_urls[NAMESERVER_LISTEN_MAX];
static size_t n_listen;

static nng_socket ns_sock;
static bool ns_is_open;
static sd_event_source *ns_src;
static struct sendq ns_out;
static char *listen_file;

/* scheme://HOST:PORT with HOST a name, an IPv4 address, [v6] or empty
 * (all addresses), PORT 0..65535; *ret_colon = the ':' before PORT */
static int
url_split(const char *url, const char **ret_colon)
{
	const char *h, *colon;
	size_t plen;
	unsigned long port = 0;

	if (strncmp(url, "tcp://", 6) == 0)
		h = url + 6;
	else if (strncmp(url, "tls+tcp://", 10) == 0)
		h = url + 10;
	else
		return -EINVAL;
	colon = strrchr(h, ':');
	if (!colon)
		return -EINVAL;
	plen = strlen(colon + 1);
	if (plen == 0 || plen > 5 ||
	    strspn(colon + 1, "0123456789") != plen)
		return -EINVAL;
	port = strtoul(colon + 1, NULL, 10);
	if (port > 65535)
		return -EINVAL;
	if (h[0] == '[') {
		if (colon == h || colon[-1] != ']')
			return -EINVAL;
	} else if (memchr(h, ':', (size_t)(colon - h)) ||
		   memchr(h, '/', (size_t)(colon - h))) {
		return -EINVAL; /* a bare IPv6 address, or a path */
	}
	*ret_colon = colon;
	return 0;
}

int
nameserver_add_listen(const char *url)
{
	const char *colon;

	if (!url || strlen(url) >= PROTO_URL_MAX || url_split(url, &colon) < 0)
		return -EINVAL;
	if (n_listen == NAMESERVER_LISTEN_MAX)
		return -ENOSPC;
	listen_urls[n_listen] = strdup(url);
	if (!listen_urls[n_listen])
		return -ENOMEM;
	n_listen++;
	return 0;
}

/* ---- answers ------------------------------------------------------------ */

/* code < 0: a CTL_ERROR */
static void
ns_reply_error(const void *hdr, size_t hdr_len, uint64_t corr, int code,
	       const char *text)
{
	sendq_reply_result(&ns_out, hdr, hdr_len, corr, code, text);
}

static int
pack_host_peer(msgpack_packer *pk, const void *arg)
{
	return proto_host_peer_pack(pk, arg);
}

/* a's network inboxes, while the process that announced them is up (they
 * are forgotten with its link) */
static const char *
live_urls(const struct agent *a)
{
	if (!a->net_urls || a->pid <= 0)
		return NULL;
	if (a->state != AGENT_RUNNING && a->state != AGENT_STARTING)
		return NULL;
	return a->net_urls;
}

static bool
has_urls(const struct agent *a)
{
	return live_urls(a) != NULL;
}

/* Split "u1\nu2..." (held by the caller while u is used) into u. */
static void
urls_split(const char *s, struct proto_urls *u)
{
	u->n = 0;
	while (s && *s && u->n < PROTO_NET_URLS_MAX) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		u->url[u->n] = s;
		u->len[u->n++] = len;
		s = nl ? nl + 1 : NULL;
	}
}

static void
ns_handle(struct manager *m, nng_msg *req)
{
	const void *hdr = nng_msg_header(req);
	size_t hdr_len = nng_msg_header_len(req);
	struct proto_host_peer p = { 0 };
	struct proto_resolve q;
	struct proto_reader rd;
	struct proto_env env;
	struct agent *a;
	nng_msg *msg;
	int r;

	r = proto_env_decode_msg(req, &env);
	if (r < 0) {
		log_debug("nameserver: malformed request: %s", strerror(-r));
		ns_reply_error(hdr, hdr_len, 0,
			       r == -EPROTONOSUPPORT ? r : -EBADMSG,
			       r == -EPROTONOSUPPORT
				       ? "unsupported protocol version"
				       : "malformed request");
		return;
	}
	if (env.type != PROTO_MSG_HOST_RESOLVE) {
		ns_reply_error(hdr, hdr_len, env.corr, -EOPNOTSUPP,
			       "the name server answers host-resolve only");
		return;
	}
	proto_reader_init(&rd, env.payload, env.payload_len);
	if (proto_resolve_unpack(&rd, &q) < 0) {
		ns_reply_error(hdr, hdr_len, env.corr, -EBADMSG,
			       "malformed host-resolve");
		return;
	}
	a = registry_pick(m, q.name, q.name_len, has_urls);
	if (a) {
		const char *st = agent_state_to_string(a->state);

		p.name = a->name;
		p.name_len = strlen(a->name);
		urls_split(live_urls(a), &p.urls);
		p.pid = a->pid > 0 ? (uint32_t)a->pid : 0;
		p.state = st;
		p.state_len = strlen(st);
	} else {
		p.name = q.name;
		p.name_len = q.name_len;
		p.state = "unknown";
		p.state_len = 7;
	}
	log_debug("nameserver: %.*s -> %.*s, %u url%s, pid %u, %.*s",
		  (int)q.name_len, q.name, (int)p.name_len, p.name, p.urls.n,
		  p.urls.n == 1 ? "" : "s", p.pid, (int)p.state_len, p.state);
	r = proto_build(PROTO_MSG_HOST_RESOLVE_REPLY, 0, env.corr, "agentd",
			pack_host_peer, &p, &msg);
	if (r < 0) {
		/* URLs stored from a HELLO were checked: cannot happen */
		ns_reply_error(hdr, hdr_len, env.corr, r, "cannot answer");
		return;
	}
	sendq_reply(&ns_out, hdr, hdr_len, msg);
}

static int
ns_recv_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct manager *m = userdata;

	rep_recv_batch(ns_sock, "nameserver", m, ns_handle);
	return 0;
}

/* ---- listeners ---------------------------------------------------------- */

static int
tls_setup(nng_listener l, const char *url)
{
	const char *cert = getenv("AGENTD_TLS_CERT_KEY_FILE");
	const char *ca = getenv("AGENTD_TLS_CA_FILE");
	int rv;

	if (!cert || !*cert) {
		log_warnx("--listen %s: a TLS server needs a certificate "
			  "($AGENTD_TLS_CERT_KEY_FILE)", url);
		return NNG_EINVAL;
	}
	rv = nng_listener_set_string(l, NNG_OPT_TLS_CERT_KEY_FILE, cert);
	if (rv == 0 && ca && *ca)
		rv = nng_listener_set_string(l, NNG_OPT_TLS_CA_FILE, ca);
	/* with a CA, clients must show a certificate it signed (as libagent's
	 * inboxes do) */
	if (rv == 0)
		rv = nng_listener_set_int(l, NNG_OPT_TLS_AUTH_MODE,
					  ca && *ca ? NNG_TLS_AUTH_MODE_REQUIRED
						    : NNG_TLS_AUTH_MODE_NONE);
	return rv;
}

/* Start a listener for url; *bound = url with the port it really got. */
static int
listener_start(const char *url, char *bound, size_t size)
{
	const char *colon;
	nng_listener l;
	int rv, port;

	if (url_split(url, &colon) < 0)
		return -EINVAL;
	rv = nng_listener_create(&l, ns_sock, url);
	if (rv == 0 && strncmp(url, "tls+tcp://", 10) == 0)
		rv = tls_setup(l, url);
	if (rv == 0)
		rv = nng_listener_start(l, 0);
	if (rv != 0) {
		log_warnx("--listen %s: %s", url, nng_strerror(rv));
		(void)nng_listener_close(l);
		return proto_errno_from_nng(rv);
	}
	if (nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) != 0)
		port = atoi(colon + 1);
	if (snprintf(bound, size, "%.*s:%d", (int)(colon - url), url, port) >=
	    (int)size)
		return -ENAMETOOLONG;
	return 0;
}

static int
listen_file_write(const char *runtime_dir, char bound[][PROTO_URL_MAX],
		  size_t n)
{
	_cleanup_free_ char *tmp = NULL;
	FILE *f;
	int fd;

	if (asprintf(&listen_file, "%s/listen", runtime_dir) < 0) {
		listen_file = NULL;
		return -ENOMEM;
	}
	if (asprintf(&tmp, "%s/listen.tmp", runtime_dir) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		int r = -errno;
		close(fd);
		(void)unlink(tmp);
		return r;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", bound[i]);
	if (fclose(f) != 0 || rename(tmp, listen_file) < 0) {
		int r = -errno;
		(void)unlink(tmp);
		return r;
	}
	return 0;
}

int
nameserver_open(struct manager *m)
{
	char bound[NAMESERVER_LISTEN_MAX][PROTO_URL_MAX];
	int rv, fd, r;

	if (n_listen == 0)
		return 0;
	rv = nng_rep0_open_raw(&ns_sock);
	if (rv != 0)
		return proto_errno_from_nng(rv);
	ns_is_open = true;
	ns_out = (struct sendq){ .event = m->event, .sock = ns_sock,
				 .what = "nameserver" };
	if ((rv = nng_socket_set_size(ns_sock, NNG_OPT_RECVMAXSZ,
				      PROTO_MSG_MAX)) != 0 ||
	    (rv = nng_socket_get_int(ns_sock, NNG_OPT_RECVFD, &fd)) != 0) {
		log_warnx("nameserver: %s", nng_strerror(rv));
		return proto_errno_from_nng(rv);
	}
	for (size_t i = 0; i < n_listen; i++) {
		r = listener_start(listen_urls[i], bound[i], sizeof(bound[i]));
		if (r < 0)
			return r;
		log_info("name server listening on %s", bound[i]);
	}
	r = listen_file_write(m->runtime_dir, bound, n_listen);
	if (r < 0) {
		log_warnx("%s/listen: %s", m->runtime_dir, strerror(-r));
		return r;
	}
	return sd_event_add_io(m->event, &ns_src, fd, EPOLLIN, ns_recv_cb, m);
}

void
nameserver_close(struct manager *m)
{
	(void)m;
	if (ns_out.head)
		sendq_flush(&ns_out);
	sendq_done(&ns_out);
	ns_src = sd_event_source_disable_unref(ns_src);
	if (ns_is_open)
		nng_close(ns_sock);
	ns_is_open = false;
	if (listen_file) {
		(void)unlink(listen_file);
		free(listen_file);
		listen_file = NULL;
	}
	for (size_t i = 0; i < n_listen; i++) {
		free(listen_urls[i]);
		listen_urls[i] = NULL;
	}
	n_listen = 0;
}

/* ---- what agents announce ----------------------------------------------- */

int
nameserver_set_urls(struct agent *a, const struct proto_urls *urls)
{
	size_t len = 0;
	char *s, *p;

	nameserver_forget(a);
	if (!urls || urls->n == 0)
		return 0;
	for (uint32_t i = 0; i < urls->n; i++)
		len += urls->len[i] + 1;
	s = malloc(len);
	if (!s)
		return -ENOMEM;
	p = s;
	for (uint32_t i = 0; i < urls->n; i++) {
		memcpy(p, urls->url[i], urls->len[i]);
		p += urls->len[i];
		*p++ = i + 1 < urls->n ? '\n' : '\0';
	}
	a->net_urls = s;
	return 0;
}

void
nameserver_forget(struct agent *a)
{
	free(a->net_urls);
	a->net_urls = NULL;
}
