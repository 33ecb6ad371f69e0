/* Packet buffers with headroom, so every layer (encap, ESP) prepends its
 * header in place instead of copying the frame.
 *
 * A pkt is a view: data and len are its bytes, head and end the bounds of
 * the buffer they lie in. That buffer is normally the pkt's own, but a
 * received packet may borrow the socket's (pkt_borrow): it is then bounded
 * by exactly its own bytes, so a layer that wants room around it fails
 * cleanly instead of writing past the datagram.
 *
 * Going out, a segment cut from a TAP superframe keeps its payload where
 * the TAP read put it: ext and ext_len follow data and len on the wire
 * (the socket sends both as one datagram), so the payload is never
 * copied in user space. Whatever must see the whole packet in one piece
 * (ESP, flooding, an ICMP answer) calls pkt_linearize first. Being a
 * view, a pkt is never copied by assignment: pkt_copy copies one. */
#ifndef OVT_PKT_H
#define OVT_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire.h"

/* Outer IPv6 (40) + UDP (8) + Geneve (8 + 252 of options) + ESP (8 + 8 IV)
 * + a UDP header for ESP-in-UDP (8), rounded up. */
#define PKT_HEADROOM	384
/* Largest inner frame: 9000-byte MTU + Ethernet + one VLAN tag. */
#define PKT_FRAME_MAX	(9000 + ETH_HLEN + VLAN_HLEN)
/* ESP padding (up to 255 + 2 trailer bytes) and a 16-byte ICV. */
#define PKT_TAILROOM	288
#define PKT_BUF_SIZE	(PKT_HEADROOM + PKT_FRAME_MAX + PKT_TAILROOM)

struct pkt {
	uint8_t		*data;		/* first valid byte */
	size_t		 len;		/* valid bytes from data */
	uint8_t		*head, *end;	/* the buffer data lies in */
	const uint8_t	*ext;		/* more bytes after data + len */
	size_t		 ext_len;	/* ... this many; 0: none */
	uint8_t		 buf[PKT_BUF_SIZE];
};

/* Empties p into its own buffer, PKT_HEADROOM in. */
static inline void
pkt_reset(struct pkt *p)
{
	p->head = p->buf;
	p->end = p->buf + sizeof(p->buf);
	p->data = p->buf + PKT_HEADROOM;
	p->len = 0;
	p->ext = NULL;
	p->ext_len = 0;
}

/* Makes p a view of len bytes at b, which stay the caller's: no room on
 * either side. */
static inline void
pkt_borrow(struct pkt *p, uint8_t *b, size_t len)
{
	p->head = p->data = b;
	p->end = b + len;
	p->len = len;
	p->ext = NULL;
	p->ext_len = 0;
}

static inline size_t
pkt_headroom(const struct pkt *p)
{
	return (size_t)(p->data - p->head);
}

static inline size_t
pkt_tailroom(const struct pkt *p)
{
	return (size_t)(p->end - p->data) - p->len;
}

/* Every byte of the packet, ext included. */
static inline size_t
pkt_total(const struct pkt *p)
{
	return p->len + p->ext_len;
}

/* Prepends n bytes; NULL when the headroom is too small. */
static inline uint8_t *
pkt_push(struct pkt *p, size_t n)
{
	if (pkt_headroom(p) < n)
		return NULL;
	p->data -= n;
	p->len += n;
	return p->data;
}

/* Strips n bytes from the front; NULL when the packet is shorter. */
static inline uint8_t *
pkt_pull(struct pkt *p, size_t n)
{
	uint8_t *old = p->data;

	if (p->len < n)
		return NULL;
	p->data += n;
	p->len -= n;
	return old;
}

/* Appends n bytes at the tail; NULL when the tailroom is too small or
 * ext would then no longer follow. */
static inline uint8_t *
pkt_put(struct pkt *p, size_t n)
{
	uint8_t *tail = p->data + p->len;

	if (p->ext_len != 0 || pkt_tailroom(p) < n)
		return NULL;
	p->len += n;
	return tail;
}

/* Brings ext into the buffer after data; -1 when it does not fit. */
static inline int
pkt_linearize(struct pkt *p)
{
	size_t n = p->ext_len;

	if (n == 0)
		return 0;
	if (pkt_tailroom(p) < n)
		return -1;
	memcpy(p->data + p->len, p->ext, n);
	p->len += n;
	p->ext = NULL;
	p->ext_len = 0;
	return 0;
}

/* Sets the contents to a copy of len bytes (tests, flooding). */
static inline int
pkt_set(struct pkt *p, const void *src, size_t len)
{
	pkt_reset(p);
	if (len > sizeof(p->buf) - PKT_HEADROOM)
		return -1;
	memcpy(p->data, src, len);
	p->len = len;
	return 0;
}

/* Sets dst to a linear copy of src, ext included. */
static inline int
pkt_copy(struct pkt *dst, const struct pkt *src)
{
	if (pkt_set(dst, src->data, src->len) < 0)
		return -1;
	dst->ext = src->ext;
	dst->ext_len = src->ext_len;
	return pkt_linearize(dst);
}

#endif
