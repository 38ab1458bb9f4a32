/* libFuzzer harness: create options (mock_options_validate) and sizes
 * (vdvs_size_parse_mb, mock_size_render).
 *
 * Input: option lines "key=value" separated by '\n' (a line without '='
 * is a key with an empty value), turned into the vdvs_opts the core
 * hands the backend.
 *
 * Properties:
 *  - validation fails with a message, or every key is a known option and
 *    every value one the upstream rules accept (checked independently);
 *  - vdvs_size_parse_mb agrees with a reference parser (digits then
 *    mb|gb|tb in any case, at most 2^44 MiB), and its result renders and
 *    parses back to the same value. */
#include <ctype.h>
#include <inttypes.h>
#include <strings.h>

#include "fuzz_common.h"
#include "mock_i.h"
#include "vdvs/size.h"

/* The upstream rule, written independently. */
static int
ref_size (const char *s, uint64_t *mb)
{
  size_t n = strlen (s);
  unsigned __int128 v = 0;
  uint64_t mult;

  if (n < 3)
    return -1;
  if (!strcasecmp (s + n - 2, "mb"))
    mult = 1;
  else if (!strcasecmp (s + n - 2, "gb"))
    mult = 1024;
  else if (!strcasecmp (s + n - 2, "tb"))
    mult = 1024 * 1024;
  else
    return -1;
  for (size_t i = 0; i + 2 < n; i++)
    {
      if (s[i] < '0' || s[i] > '9')
        return -1;
      v = v * 10 + (unsigned) (s[i] - '0');
      if (v > ((unsigned __int128) 1 << 64))
        return -1;
    }
  if (v * mult > ((unsigned __int128) 1 << 44))
    return -1;
  *mb = (uint64_t) (v * mult);
  return 0;
}

static void
check_size (const char *s)
{
  uint64_t a = 0, b = 0, c = 0;
  int ra = vdvs_size_parse_mb (s, &a), rb = ref_size (s, &b);
  char buf[64];

  if (ra != rb || (ra == 0 && a != b))
    fprintf (stderr,
             "size `%s`: parse %d/%" PRIu64 ", reference %d/%" PRIu64 "\n", s,
             ra, a, rb, b);
  /* Sizes the product accepts must be ones the reference accepts; the
   * product may refuse a few more (v * mult bound is per unit). */
  FUZZ_CHECK (ra != 0 || (rb == 0 && a == b));
  if (ra == 0)
    {
      snprintf (buf, sizeof buf, "%" PRIu64 "MB", a);
      FUZZ_CHECK (vdvs_size_parse_mb (buf, &c) == 0 && c == a);
      mock_size_render (a << 20, buf, sizeof buf);
      FUZZ_CHECK (strlen (buf) > 0 && strlen (buf) < sizeof buf - 1);
      mock_size_render (a, buf, 4); /* a short buffer truncates */
    }
}

static bool
one_of (const char *v, const char *const *set, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (v, set[i]) == 0)
      return true;
  return false;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const keys[] = { "size",       "vsan-policy-name",
                                      "diskformat", "attach-as",
                                      "access",     "fstype",
                                      "clone-from" };
  static const char *const formats[] = { "thin", "zeroedthick",
                                         "eagerzeroedthick" };
  static const char *const attach[] = { "independent_persistent",
                                        "persistent" };
  static const char *const access_[] = { "read-write", "read-only" };
  struct mock m;
  struct vdvs_opts o = { 0 };
  vdvs_error_t err = NULL;
  char *text = fuzz_strndup (data, size), *save = NULL, *line;
  const char *v;
  uint64_t mb;
  int r;

  check_size (text);
  for (line = strtok_r (text, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    {
      char *eq = strchr (line, '=');
      if (eq)
        *eq = '\0';
      FUZZ_CHECK (vdvs_opts_set (&o, line, eq ? eq + 1 : "") == 0);
      if (eq)
        check_size (eq + 1);
    }
  free (text);

  memset (&m, 0, sizeof m);
  r = mock_options_validate (&m, NULL, &o, &err);
  if (r < 0)
    FUZZ_CHECK (err != NULL && err->msg != NULL && err->msg[0] != '\0');
  else
    {
      FUZZ_CHECK (err == NULL);
      for (size_t i = 0; i < o.n; i++)
        FUZZ_CHECK (one_of (o.v[i].key, keys, 7));
      if ((v = vdvs_opts_get (&o, "size")) != NULL)
        FUZZ_CHECK (vdvs_opts_get (&o, "clone-from") == NULL
                    && ref_size (v, &mb) == 0 && mb > 0);
      FUZZ_CHECK (vdvs_opts_get (&o, "vsan-policy-name") == NULL);
      if ((v = vdvs_opts_get (&o, "diskformat")) != NULL)
        FUZZ_CHECK (one_of (v, formats, 3));
      if ((v = vdvs_opts_get (&o, "attach-as")) != NULL)
        FUZZ_CHECK (one_of (v, attach, 2));
      if ((v = vdvs_opts_get (&o, "access")) != NULL)
        FUZZ_CHECK (one_of (v, access_, 2));
      if (vdvs_opts_get (&o, "clone-from") != NULL)
        FUZZ_CHECK (vdvs_opts_get (&o, "fstype") == NULL);
    }
  vdvs_error_release (&err);
  vdvs_opts_clear (&o);
  return 0;
}
