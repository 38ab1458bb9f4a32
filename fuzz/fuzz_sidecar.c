/* libFuzzer harness: the sidecar reader (mock_sidecar_parse) and its round
 * trip through mock_sidecar_format.
 *
 * Input: the sidecar file's bytes (exact-size buffer, no NUL).
 *
 * Properties: a parse fails with a message or gives status "attached" or
 * "detached"; the formatted sidecar is padded to a multiple of 4 KiB and
 * ends in '\n'; parse(format(s)) == s. */
#include "fuzz_common.h"
#include "mock_i.h"

static bool
sidecar_eq (const struct mock_sidecar *a, const struct mock_sidecar *b)
{
  return strcmp (a->status, b->status) == 0
         && fuzz_opts_eq (&a->vol_opts, &b->vol_opts)
         && strcmp (a->created, b->created) == 0
         && strcmp (a->created_by, b->created_by) == 0
         && a->attached == b->attached
         && strcmp (a->attached_uuid, b->attached_uuid) == 0
         && strcmp (a->attached_name, b->attached_name) == 0
         && strcmp (a->device.unit, b->device.unit) == 0
         && strcmp (a->device.pci_slot, b->device.pci_slot) == 0
         && strcmp (a->device.pci_bus, b->device.pci_bus) == 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct mock_sidecar s, s2;
  vdvs_error_t err = NULL;
  char *text = fuzz_memdup (data, size), *out = NULL;
  size_t len = 0;
  int r;

  r = mock_sidecar_parse (text, size, &s, &err);
  free (text);
  if (r < 0)
    {
      FUZZ_CHECK (err != NULL && err->msg != NULL);
      FUZZ_CHECK (s.vol_opts.n == 0 && s.vol_opts.v == NULL);
      vdvs_error_release (&err);
      return 0;
    }
  FUZZ_CHECK (err == NULL);
  FUZZ_CHECK (strcmp (s.status, "attached") == 0
              || strcmp (s.status, "detached") == 0);

  FUZZ_CHECK (mock_sidecar_format (&s, &out, &len) == 0);
  FUZZ_CHECK (len > 0 && len % 4096 == 0 && out[len - 1] == '\n');
  r = mock_sidecar_parse (out, len, &s2, &err);
  if (r < 0)
    fprintf (stderr, "re-parse failed: %s\n", err->msg);
  FUZZ_CHECK (r == 0);
  if (!sidecar_eq (&s, &s2))
    {
      fprintf (stderr, "round trip differs; formatted: %.*s\n", (int) len,
               out);
      abort ();
    }
  mock_sidecar_clear (&s);
  mock_sidecar_clear (&s2);
  free (out);
  return 0;
}
