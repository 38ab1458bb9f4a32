/* libFuzzer harness: an ESX request as the server (esxsim) decodes it
 * (esx_request_decode), and the server's reply encoders fed with what it
 * decoded.
 *
 * Input: the JSON text of a request frame (exact-size buffer, no NUL).
 *
 * Properties:
 *  - decode fails with a message, or gives cmd and name;
 *  - round trip: for valid UTF-8 fields, esx_request_encode of the decoded
 *    request decodes to the same cmd, name and options (version "2");
 *  - esx_reply_error(name) is valid JSON that esx_reply_parse turns back
 *    into the same message (the client's view of a server error);
 *  - esx_reply_error of the decode error text, likewise (what esxsim sends
 *    for a bad request). */
#include <cjson/cJSON.h>

#include "codec.h"
#include "fuzz_common.h"

/* What the client sees for a server error reply carrying `msg`. */
static void
check_error_reply (const char *msg)
{
  char *reply = esx_reply_error (msg);
  cJSON *tree = NULL;
  vdvs_error_t err = NULL;
  int r;

  FUZZ_CHECK (reply != NULL);
  r = esx_reply_parse (reply, strlen (reply), &tree, &err);
  if (msg[0] == '\0')
    {
      /* An empty Error is no error (the Go plugin's rule). */
      FUZZ_CHECK (r == 0 && cJSON_IsObject (tree));
      cJSON_Delete (tree);
    }
  else
    {
      FUZZ_CHECK (r < 0 && err != NULL);
      if (fuzz_utf8_valid (msg))
        FUZZ_CHECK (strcmp (err->msg, msg) == 0);
    }
  vdvs_error_release (&err);
  free (reply);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct esx_request rq, rq2;
  vdvs_error_t err = NULL;
  char *json = fuzz_memdup (data, size);
  int r;

  r = esx_request_decode (json, size, &rq, &err);
  free (json);
  if (r < 0)
    {
      FUZZ_CHECK (err != NULL && err->msg != NULL);
      FUZZ_CHECK (rq.cmd == NULL && rq.name == NULL && rq.opts.n == 0);
      check_error_reply (err->msg);
      vdvs_error_release (&err);
      return 0;
    }
  FUZZ_CHECK (err == NULL && rq.cmd != NULL && rq.name != NULL);

  if (fuzz_utf8_valid (rq.cmd) && fuzz_utf8_valid (rq.name)
      && fuzz_opts_utf8 (&rq.opts))
    {
      char *enc = esx_request_encode (rq.cmd, rq.name, &rq.opts, NULL);
      FUZZ_CHECK (enc != NULL);
      r = esx_request_decode (enc, strlen (enc), &rq2, &err);
      if (r < 0)
        fprintf (stderr, "re-decode of %s failed: %s\n", enc, err->msg);
      FUZZ_CHECK (r == 0);
      FUZZ_CHECK (strcmp (rq2.cmd, rq.cmd) == 0);
      FUZZ_CHECK (strcmp (rq2.name, rq.name) == 0);
      FUZZ_CHECK (fuzz_opts_eq (&rq2.opts, &rq.opts));
      FUZZ_CHECK (rq2.version == 2);
      esx_request_clear (&rq2);
      free (enc);
    }
  check_error_reply (rq.name);
  {
    char *t = esx_version_mismatch_text (rq.version, 2);
    FUZZ_CHECK (t != NULL);
    free (t);
  }
  esx_request_clear (&rq);
  return 0;
}
