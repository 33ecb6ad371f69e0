/* Packet buffers with headroom, so every layer (encap, ESP) prepends its
 * header in place instead of copying the frame. */
#ifndef OVT_PKT_H
#define OVT_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Outer IPv6 (40) + UDP (8) + Geneve (8 + 252 of options) + ESP (8 + 8 IV)
 * + a UDP header for ESP-in-UDP (8), rounded up. */
#define PKT_HEADROOM	384
/* Largest inner frame: 9000-byte MTU + Ethernet + one VLAN tag. */
#define PKT_FRAME_MAX	(9000 + 14 + 4)
/* ESP padding (up to 255 + 2 trailer bytes) and a 16-byte ICV. */
#define PKT_TAILROOM	288
#define PKT_BUF_SIZE	(PKT_HEADROOM + PKT_FRAME_MAX + PKT_TAILROOM)

struct pkt {
	uint8_t	*data;		/* first valid byte */
	size_t	 len;		/* valid bytes from data */
	uint8_t	 buf[PKT_BUF_SIZE];
};

static inline void
pkt_reset(struct pkt *p)
{
	p->data = p->buf + PKT_HEADROOM;
	p->len = 0;
}

static inline size_t
pkt_headroom(const struct pkt *p)
{
	return (size_t)(p->data - p->buf);
}

static inline size_t
pkt_tailroom(const struct pkt *p)
{
	return sizeof(p->buf) - pkt_headroom(p) - p->len;
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

/* Appends n bytes at the tail; NULL when the tailroom is too small. */
static inline uint8_t *
pkt_put(struct pkt *p, size_t n)
{
	uint8_t *tail = p->data + p->len;

	if (pkt_tailroom(p) < n)
		return NULL;
	p->len += n;
	return tail;
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

#endif
