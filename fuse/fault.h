/* vmdkfs fault injection: the rule table and the verdicts it gives (the
 * control language that edits it is fault_ctl.h).
 *
 * A rule matches I/O by the path of the file relative to SOURCE, either a
 * glob (`path=datastore1/dockvols/ * /vol1-flat.vmdk`, fnmatch with
 * FNM_PATHNAME so `*` stays inside one component) or a whole datastore
 * (`ds=datastore1`, everything under SOURCE/datastore1).  Kinds:
 *
 *   error     fail the op with an errno, at a rate, after N matches, or
 *             only while its trigger is on
 *   delay     hold the op for ms milliseconds before it is submitted
 *   readonly  every modifying op under the datastore fails with EROFS
 *   stall     hold the op until `fault release` (or the rule is cleared)
 *
 * This file knows nothing about FUSE: the daemon asks fault_check() for a
 * verdict and acts on it, so the rule logic and the parser are unit-tested
 * on their own (tests/unit/fuse).  Locking: see struct fault_table.
 */
#ifndef VMDKFS_FAULT_H
#define VMDKFS_FAULT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Operation classes a rule can select with op=. */
#define FAULT_OP_READ 0x1u
#define FAULT_OP_WRITE 0x2u /* write and fallocate */
#define FAULT_OP_FSYNC 0x4u /* fsync, fdatasync, flush */
#define FAULT_OP_META 0x8u  /* namespace and attribute changes */
#define FAULT_OP_ALL 0xfu

#define FAULT_ID_MAX 64
#define FAULT_PATTERN_MAX 1024

enum fault_kind
{
  FAULT_ERROR,
  FAULT_DELAY,
  FAULT_READONLY,
  FAULT_STALL,
};

struct fault_rule
{
  struct fault_rule *next;
  char id[FAULT_ID_MAX];
  enum fault_kind kind;
  bool is_ds; /* pattern is a datastore name */
  char pattern[FAULT_PATTERN_MAX];
  unsigned ops;      /* FAULT_OP_* mask */
  int err;           /* positive errno, FAULT_ERROR */
  double rate;       /* 0 < rate <= 1 */
  uint64_t after;    /* first `after` matches pass */
  int trigger;       /* -1: none, 0: off, 1: on */
  unsigned ms;       /* FAULT_DELAY */
  uint64_t matched;  /* ops that matched path and op */
  uint64_t injected; /* ops the rule acted on */
};

/* What the daemon must do with one op. */
struct fault_verdict
{
  int err;               /* > 0: fail with this errno */
  unsigned delay_ms;     /* > 0: defer submission */
  bool hold;             /* park until released */
  char id[FAULT_ID_MAX]; /* rule that decided (for logs) */
};

/* Called (without the table lock) when held ops must run again: id is the
 * stall rule released, NULL for all of them. */
typedef void (*fault_release_fn) (void *opaque, const char *id);

struct fault_table
{
  pthread_mutex_t lock;
  struct fault_rule *rules;    /* protected by lock, in add order */
  atomic_uint nrules;          /* lock-free "any rules?" fast path */
  uint64_t rng;                /* protected by lock */
  unsigned next_id;            /* protected by lock: auto ids */
  fault_release_fn on_release; /* set before threads start */
  void *release_opaque;
};

void fault_table_init (struct fault_table *t, uint64_t seed);
void fault_table_destroy (struct fault_table *t);

/* Decide what happens to one op of class `op` (a single FAULT_OP_* bit) on
 * `relpath`.  Returns true when the verdict is not "proceed"; counts the
 * match and the injection in the deciding rules. */
bool fault_check (struct fault_table *t, const char *relpath, unsigned op,
                  struct fault_verdict *v);

/* Whether a rule with this id exists (closes the race between a stall
 * verdict and a release that runs before the io is parked). */
bool fault_rule_exists (struct fault_table *t, const char *id);

/* Whether relpath is under the rule's glob or datastore. */
bool fault_path_match (const struct fault_rule *r, const char *relpath);

/* Table edits, for the control language; the caller holds t->lock. */
struct fault_rule *fault_rule_find (struct fault_table *t, const char *id);
/* Give r the next free automatic id ("f1", "f2", ...). */
void fault_rule_auto_id (struct fault_table *t, struct fault_rule *r);
/* Add r (malloc'd, now owned by t) after the existing rules. */
void fault_rule_append (struct fault_table *t, struct fault_rule *r);
/* Unlink and free the rules for which pred holds; returns how many, and
 * sets *stall_removed when a stall rule was among them (its held ops must
 * run). */
int fault_rules_remove (struct fault_table *t,
                        bool (*pred) (const struct fault_rule *, const void *),
                        const void *arg, bool *stall_removed);

#endif
