/*
 * register_priv: what the files of the register module share: register.c
 * (format, chain, index, open/close, prune), register_append.c (segments,
 * crash recovery, batches), register_read.c (verify, export) and
 * register_commit.c (group commit). Not a public header: nothing outside
 * those files includes it.
 */
#ifndef SP_REGISTER_PRIV_H
#define SP_REGISTER_PRIV_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <zlib.h>

#include "sp/digest.h"
#include "sp/register.h"

#define REG_DAY_LEN 10               /* "YYYY-MM-DD" */
#define REG_FRAME_HEAD 12u           /* magic, be32 compressed, be32 plain */
#define REG_MAX_HEADER (64u * 1024u) /* bytes of one header line */
#define REG_MAX_PLAIN (SP_REGISTER_MAX_MESSAGE + REG_MAX_HEADER)
#define REG_DIR_MODE 0700
#define REG_FILE_MODE 0600
#define REG_ZPOOL_MAX 8 /* compressors kept for sp_register_prepare */

struct sp_buf;
struct sp_db;
struct reg_waiter;

/* The group commit queue; see the GROUP COMMIT NOTES in register_commit.c. */
struct reg_gc {
    pthread_mutex_t mu;
    pthread_cond_t space;              /* reservations were released */
    struct reg_waiter *head, *tail;    /* queued, not yet taken by a leader */
    size_t queued;                     /* entries between head and tail */
    size_t slots;                      /* reserved: preparing, queued or in the running batch */
    size_t bytes;                      /* frame bytes those may take (upper bound) */
    int leading;                       /* a leader is writing a batch */
    int64_t batches, records, largest; /* sp_register_stats */
};

/* The register's state; see the THREAD SAFETY NOTES in register.c. */
struct sp_register {
    char *dir;
    struct sp_db *db;   /* borrowed */
    pthread_mutex_t mu; /* appends and prunes of this process */
    int lock_fd;        /* <dir>/.lock, flock()ed between processes */
    int seg_fd;         /* the open segment, or -1 */
    char seg_day[REG_DAY_LEN + 1];
    int tails_checked; /* days after the newest row were looked for since open/failure */
    z_stream hz;       /* Huffman coder of the chain part of headers (under mu) */
    int hz_ok;
    uLong dict_id;            /* Adler-32 of the preset dictionary */
    pthread_mutex_t zpool_mu; /* guards zpool: idle compressors for sp_register_prepare */
    z_stream *zpool[REG_ZPOOL_MAX];
    size_t zpool_n;
    sp_register_sync_fn sync; /* test hook, NULL: fdatasync */
    void *sync_ctx;
    struct reg_gc gc;
};

/* ------------------------------------------------------------------ records and days */

/* A record as stored (strings borrowed from the parsed header or the caller). */
struct reg_entry {
    int64_t seq, time_ms, len;
    const char *kind, *dir, *id, *irt, *idp, *cf, *sha256, *prev, *hash;
    const unsigned char *msg;
    size_t msg_len;
};

/* One day's index row. */
struct reg_day {
    char day[REG_DAY_LEN + 1];
    int64_t first_seq, last_seq, records, bytes;
    char last_hash[SP_SHA256_HEX_LEN + 1];
    int indexed;   /* a row exists */
    int on_disk;   /* a file exists (snapshot) */
    int64_t size;  /* its size at the snapshot */
    int64_t limit; /* bytes to read: size, or the acknowledged part (reg_classify) */
    int tail;      /* REG_TAIL_*: what of it an interrupted batch left */
};

enum {
    REG_TAIL_NONE,
    REG_TAIL_ROW,  /* the newest row's segment has bytes past the row */
    REG_TAIL_FILE, /* a segment of a day after the newest row, not indexed */
};

/* The chain's start: genesis, or what the last prune left. */
struct reg_anchor {
    int64_t seq;
    char hash[SP_SHA256_HEX_LEN + 1];
    char first_day[REG_DAY_LEN + 1]; /* "" when never pruned */
};

/* Every day of the index and the disk, sorted (reg_snapshot). */
struct reg_days {
    struct reg_day *v;
    size_t n, cap;
};

/* A record prepared off the lock (SPLICE NOTES in register.c). */
struct sp_register_prepared {
    int64_t time_ms;
    char *canon;         /* the hashed form with seq 0, "[0,time,...]"; free() */
    unsigned char *body; /* K||M as raw deflate, ending with the final block */
    size_t body_len;
    size_t body_plain; /* length of K||M */
    uLong body_adler;  /* Adler-32 of K||M */
};

/* ------------------------------------------------------------------ register.c */

/* "YYYY-MM-DD" of the UTC day holding ms (ms >= 0). */
void reg_day_of(int64_t ms, char day[REG_DAY_LEN + 1]);
/* <dir>/YYYY/MM/DD.spr (dir_only: <dir>/YYYY/MM) into out. */
void reg_day_path(const struct sp_register *r, const char *day, int dir_only, struct sp_buf *out);
/* A JSON string, json_null() for NULL, NULL when s is not UTF-8. */
json_t *reg_jstr(const char *s);

/* The frame at fp's position, at most limit bytes: SP_ERR_NOT_FOUND at a clean end. */
enum sp_err reg_frame_read(FILE *fp, int64_t limit, struct sp_buf *zbuf, struct sp_buf *plain,
                           int64_t *size);
/* Split a frame's plain bytes into e (strings borrowed from *hdr: json_decref it). */
enum sp_err reg_parse(const struct sp_buf *plain, struct reg_entry *e, json_t **hdr);
/* hash = SHA-256(prev || "\n" || canonical form of e). */
enum sp_err reg_hash(const struct reg_entry *e, const char *prev, char out[SP_SHA256_HEX_LEN + 1]);
/* Under the lock: the frame of pr as record seq after prev, appended to out; its hash. */
enum sp_err reg_frame_splice(struct sp_register *r, const struct sp_register_prepared *pr,
                             int64_t seq, const char *prev, char hash[SP_SHA256_HEX_LEN + 1],
                             struct sp_buf *scratch, struct sp_buf *out);

/* The anchor, and the newest index row (*found 0 when there is none). */
enum sp_err reg_read_anchor(struct sp_register *r, struct reg_anchor *a);
enum sp_err reg_read_newest(struct sp_register *r, struct reg_day *d, int *found);
/* The register lock: the process mutex, then flock() on <dir>/.lock. */
enum sp_err reg_lock(struct sp_register *r);
void reg_unlock(struct sp_register *r);
/* Every segment file on disk, with its size, into ds (under the lock). */
void reg_scan_disk(struct sp_register *r, struct reg_days *ds);
/* Takes the lock: the anchor, every row and file, sorted and classified. Free ds->v. */
enum sp_err reg_snapshot(struct sp_register *r, struct reg_anchor *a, struct reg_days *ds);

/* ------------------------------------------------------------------ register_append.c */

/* A transaction is open on the calling thread's connection. */
int reg_txn_open(struct sp_register *r);

/* ------------------------------------------------------------------ register_commit.c */

/* Set up and tear down the group commit queue of a register. */
void reg_gc_init(struct reg_gc *gc);
void reg_gc_cleanup(struct reg_gc *gc);

#endif /* SP_REGISTER_PRIV_H */
