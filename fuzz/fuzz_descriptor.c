/* libFuzzer harness: the VMDK text descriptor reader
 * (mock_descriptor_parse) and its round trip through
 * mock_descriptor_format.
 *
 * Input: the descriptor file's bytes (exact-size buffer, no NUL).
 *
 * Properties: a parse fails with a message or gives an extent file name
 * that is one path component; parse(format(d)) == d for every d a parse
 * produced (createType "" is written as "vmfs"). */
#include "fuzz_common.h"
#include "mock_i.h"

#define UUID "60 00 C2 9a 4c 1d 33 c4-5c 43 a6 2d 37 0a 4e 1f"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct mock_descriptor d, d2;
  vdvs_error_t err = NULL;
  char *text = fuzz_memdup (data, size), *out = NULL;
  int r;

  r = mock_descriptor_parse (text, size, &d, &err);
  free (text);
  if (r < 0)
    {
      FUZZ_CHECK (err != NULL && err->msg != NULL);
      vdvs_error_release (&err);
      return 0;
    }
  FUZZ_CHECK (err == NULL);
  FUZZ_CHECK (d.extent[0] == '\0' || strchr (d.extent, '/') == NULL);
  FUZZ_CHECK (strchr (d.sidecar, '/') == NULL);

  FUZZ_CHECK (mock_descriptor_format (&d, UUID, &out) == 0);
  r = mock_descriptor_parse (out, strlen (out), &d2, &err);
  if (r < 0)
    fprintf (stderr, "re-parse failed (%s) of:\n%s\n", err->msg, out);
  FUZZ_CHECK (r == 0);
  if (d.create_type[0] == '\0')
    strcpy (d.create_type, "vmfs");
  if (d.sectors != d2.sectors || strcmp (d.extent, d2.extent) != 0
      || strcmp (d.sidecar, d2.sidecar) != 0
      || strcmp (d.create_type, d2.create_type) != 0 || d.thin != d2.thin)
    {
      fprintf (stderr,
               "round trip differs:\n sectors %llu/%llu\n extent `%s`/`%s`\n"
               " sidecar `%s`/`%s`\n createType `%s`/`%s`\n thin %d/%d\n"
               "formatted:\n%s\n",
               (unsigned long long) d.sectors, (unsigned long long) d2.sectors,
               d.extent, d2.extent, d.sidecar, d2.sidecar, d.create_type,
               d2.create_type, d.thin, d2.thin, out);
      abort ();
    }
  free (out);
  return 0;
}
