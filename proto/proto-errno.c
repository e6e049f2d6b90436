/* SPDX-License-Identifier: MIT */
/*
 * proto-errno.c - the one place where nng's positive NNG_E* codes become
 * -errno. See the table in PROTOCOL.md ("Error mapping").
 */
#include <errno.h>

#include "proto.h"

int
proto_errno_from_nng(int rv)
{
	if (rv == 0)
		return 0;
	if (rv < 0) /* already -errno: pass through */
		return rv;
	if (rv & NNG_ESYSERR) {
		int e = rv & ~NNG_ESYSERR;
		return e > 0 ? -e : -EIO;
	}
	if (rv & NNG_ETRANERR)
		return -EPROTO;

	switch (rv) {
	case NNG_EINTR:
		return -EINTR;
	case NNG_ENOMEM:
		return -ENOMEM;
	case NNG_EINVAL:
		return -EINVAL;
	case NNG_EBUSY:
		return -EBUSY;
	case NNG_ETIMEDOUT:
		return -ETIMEDOUT;
	case NNG_ECONNREFUSED:
		return -ECONNREFUSED;
	case NNG_ECLOSED: /* our own socket / aio / context was closed */
		return -ESHUTDOWN;
	case NNG_EAGAIN:
		return -EAGAIN;
	case NNG_ENOTSUP:
		return -EOPNOTSUPP;
	case NNG_EADDRINUSE:
		return -EADDRINUSE;
	case NNG_ESTATE: /* e.g. req0 receive without a request sent */
		return -EBADFD;
	case NNG_ENOENT:
		return -ENOENT;
	case NNG_EPROTO:
		return -EPROTO;
	case NNG_EUNREACHABLE:
		return -EHOSTUNREACH;
	case NNG_EADDRINVAL:
		return -EADDRNOTAVAIL;
	case NNG_EPERM:
		return -EPERM;
	case NNG_EMSGSIZE:
		return -EMSGSIZE;
	case NNG_ECONNABORTED:
		return -ECONNABORTED;
	case NNG_ECONNRESET:
		return -ECONNRESET;
	case NNG_ECANCELED:
		return -ECANCELED;
	case NNG_ENOFILES:
		return -EMFILE;
	case NNG_ENOSPC:
		return -ENOSPC;
	case NNG_EEXIST:
		return -EEXIST;
	case NNG_EREADONLY:
	case NNG_EWRITEONLY:
	case NNG_EPEERAUTH:
		return -EACCES;
	case NNG_ECRYPTO:
		return -EPROTO;
	case NNG_ENOARG:
	case NNG_EAMBIGUOUS:
	case NNG_EBADTYPE:
		return -EINVAL;
	case NNG_ECONNSHUT: /* the peer shut the connection down */
		return -ECONNRESET;
	case NNG_EINTERNAL:
	default:
		return -EIO;
	}
}
