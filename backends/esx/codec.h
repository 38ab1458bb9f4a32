/* The JSON codec of the ESX wire protocol (reference §2), shared by the
 * client (backends/esx) and the server (tools/esxsim).
 *
 * Both directions are encoded byte for byte like upstream:
 *  - requests as Go's encoding/json (the upstream plugin is Go): compact,
 *    struct field order cmd, details{Name, Opts}, version; Opts keys sorted,
 *    omitted when empty; <, >, & and U+2028/2029 escaped as \u003c...;
 *  - replies as Python's json.dumps (the upstream service is Python):
 *    ", " and ": " separators, everything outside printable ASCII escaped
 *    as lowercase \uXXXX (surrogate pairs above U+FFFF), key order as in
 *    the upstream examples.
 * Decoding accepts any valid JSON (cJSON).
 *
 * Every function returning char * returns a malloc'd string the caller
 * frees, or NULL when out of memory.
 */
#ifndef VDVS_ESX_CODEC_H
#define VDVS_ESX_CODEC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "vdvs/error.h"
#include "vdvs/types.h"

/* Protocol version sent by the client and expected by the server. */
#define ESX_PROTOCOL_VERSION "2"
#define ESX_SERVER_PROTOCOL_VERSION 2

/* ---- requests ---------------------------------------------------- */

/* {"cmd":CMD,"details":{"Name":NAME[,"Opts":{...}]},"version":VERSION}.
 * opts may be NULL. */
char *esx_request_encode (const char *cmd, const char *name,
                          const struct vdvs_opts *opts, const char *version);

/* A request as the server sees it. */
struct esx_request
{
  char *cmd;             /* malloc'd */
  char *name;            /* malloc'd; details.Name */
  struct vdvs_opts opts; /* details.Opts, values rendered as strings */
  long version;          /* int(req["version"]); 2 when absent */
};
void esx_request_clear (struct esx_request *r);

/* Decode the request text `json` (len bytes, NUL not counted).  On failure
 * *err carries the exact upstream reply text to send as {"Error": ...}:
 * "Failed to parse json '<raw>'." for invalid JSON, or the Python
 * exception text ("Server returned an error: KeyError('cmd',)") for a
 * valid JSON text that is not a request. */
int esx_request_decode (const char *json, size_t len, struct esx_request *out,
                        vdvs_error_t *err);

/* The upstream text for a protocol version mismatch. */
char *esx_version_mismatch_text (long client, long server);

/* ---- replies (server side) --------------------------------------- */

char *esx_reply_null (void);
/* {"Error": MSG} */
char *esx_reply_error (const char *msg);
/* {"Unit": .., "ControllerPciSlotNumber": .., "ControllerPciBusNumber": ..} */
char *esx_reply_device (const struct vdvs_device *dev);
/* The get reply, keys in the order of reference §2.3.6; NULL members are
 * omitted. */
char *esx_reply_info (const struct vdvs_volume_info *info);
/* [{"Name": "vol@ds", "Attributes": {}}, ...] */
char *esx_reply_list (const struct vdvs_volume_list *list);
/* {"version": V} */
char *esx_reply_version (const char *version);
/* Any cJSON tree as Python json.dumps would print it (object member order
 * kept), for tools that echo replies. */
char *esx_json_dumps (const cJSON *item);

/* ---- replies (client side) --------------------------------------- */

/* Parse a reply.  An {"Error": "<msg>"} reply (key matched
 * case-insensitively, empty message ignored, as the Go plugin does) fails
 * with the message verbatim and a status from esx_error_status().  On
 * success *out is the parsed tree (cJSON_Delete it); `null` is a cJSON
 * NULL item. */
int esx_reply_parse (const char *json, size_t len, cJSON **out,
                     vdvs_error_t *err);
/* An errno for an upstream error text: "not found" ENOENT, "already
 * exists" EEXIST, "in use"/"already attached" EBUSY, else EIO. */
int esx_error_status (const char *msg);

/* Fields are decoded as the Go plugin does: a missing or null field (an
 * older VIB sends no ControllerPciBusNumber) and a `null` reply give empty
 * strings, which no device lookup matches ("Device not found"); a field
 * of another type or too long is EBADMSG. */
int esx_reply_to_device (const cJSON *reply, struct vdvs_device *dev,
                         vdvs_error_t *err);
/* `null` (upstream's answer when a sidecar is corrupt) is ENODATA: the
 * volume exists but nothing is known of it. */
int esx_reply_to_info (const cJSON *reply, struct vdvs_volume_info *info,
                       vdvs_error_t *err);
int esx_reply_to_list (const cJSON *reply, struct vdvs_volume_list *list,
                       vdvs_error_t *err);

#endif
