/* The reply writer (src/jsonw.c): same bytes as cJSON_PrintUnformatted,
 * escaping of hostile strings (quotes, backslashes, control characters,
 * UTF-8), commas at every nesting level, and growth past the hint. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

static char *
cjson_of_string (const char *s)
{
  cJSON *o = cJSON_CreateObject ();
  char *out;
  cJSON_AddStringToObject (o, "k", s);
  out = cJSON_PrintUnformatted (o);
  cJSON_Delete (o);
  return out;
}

static char *
jw_of_string (const char *s)
{
  struct vdvs_jw w;
  vdvs_jw_init (&w, 1);
  vdvs_jw_obj_begin (&w);
  vdvs_jw_kv (&w, "k", s);
  vdvs_jw_obj_end (&w);
  return vdvs_jw_finish (&w);
}

Test (jsonw, escaping_matches_cjson)
{
  static const char *const cases[] = {
    "",
    "plain",
    "quote\" backslash\\ slash/",
    "\b\f\n\r\t",
    "\x01\x02\x1f\x7f end",
    "attached\",\"status\":\"detached",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe",
    "\xff\xfe invalid utf-8 passes as cJSON passes it",
    "}]\\u0000{",
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char *a = cjson_of_string (cases[i]), *b = jw_of_string (cases[i]);
      cr_assert_str_eq (b, a, "case %zu", i);
      /* And it parses back to the same string. */
      cJSON *j = cJSON_Parse (b);
      cr_assert_not_null (j);
      cr_assert_str_eq (cJSON_GetObjectItem (j, "k")->valuestring, cases[i]);
      cJSON_Delete (j);
      free (a);
      free (b);
    }
}

Test (jsonw, nesting_and_commas)
{
  struct vdvs_jw w;
  char *s;

  vdvs_jw_init (&w, 0);
  vdvs_jw_obj_begin (&w);
  vdvs_jw_key (&w, "Volumes");
  vdvs_jw_arr_begin (&w);
  for (int i = 0; i < 3; i++)
    {
      vdvs_jw_obj_begin (&w);
      vdvs_jw_kv (&w, "Name", i == 1 ? "b" : "a");
      vdvs_jw_kv (&w, "Skipped", NULL);
      vdvs_jw_kv (&w, "Mountpoint", "/m");
      vdvs_jw_obj_end (&w);
    }
  vdvs_jw_arr_end (&w);
  vdvs_jw_key (&w, "Empty");
  vdvs_jw_arr_begin (&w);
  vdvs_jw_arr_end (&w);
  vdvs_jw_key (&w, "Obj");
  vdvs_jw_obj_begin (&w);
  vdvs_jw_obj_end (&w);
  vdvs_jw_key (&w, "Strs");
  vdvs_jw_arr_begin (&w);
  vdvs_jw_str (&w, "x");
  vdvs_jw_str (&w, "y");
  vdvs_jw_arr_end (&w);
  vdvs_jw_kv (&w, "Err", "");
  vdvs_jw_obj_end (&w);
  s = vdvs_jw_finish (&w);
  cr_assert_str_eq (s, "{\"Volumes\":[{\"Name\":\"a\",\"Mountpoint\":\"/m\"},"
                       "{\"Name\":\"b\",\"Mountpoint\":\"/m\"},"
                       "{\"Name\":\"a\",\"Mountpoint\":\"/m\"}],"
                       "\"Empty\":[],\"Obj\":{},\"Strs\":[\"x\",\"y\"],"
                       "\"Err\":\"\"}");
  free (s);
}

Test (jsonw, grows_past_the_hint)
{
  struct vdvs_jw w;
  char big[10000], *s;
  cJSON *j;

  memset (big, 'q', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  big[5000] = '"';
  vdvs_jw_init (&w, 8);
  vdvs_jw_arr_begin (&w);
  for (int i = 0; i < 20; i++)
    vdvs_jw_str (&w, big);
  vdvs_jw_arr_end (&w);
  s = vdvs_jw_finish (&w);
  cr_assert_not_null (s);
  j = cJSON_Parse (s);
  cr_assert_eq (cJSON_GetArraySize (j), 20);
  cr_assert_str_eq (cJSON_GetArrayItem (j, 19)->valuestring, big);
  cJSON_Delete (j);
  free (s);
}

Test (jsonw, discard_frees)
{
  struct vdvs_jw w;
  vdvs_jw_init (&w, 0);
  vdvs_jw_str (&w, "x");
  vdvs_jw_discard (&w);
  cr_assert_null (w.buf);
}

Test (jsonw, str2_joins_escaped_parts)
{
  struct vdvs_jw w;
  char *s;

  vdvs_jw_init (&w, 0);
  vdvs_jw_arr_begin (&w);
  vdvs_jw_str2 (&w, "/mnt/\"vmdk\"/", "v\\1");
  vdvs_jw_str2 (&w, "", "");
  vdvs_jw_arr_end (&w);
  s = vdvs_jw_finish (&w);
  cr_assert_str_eq (s, "[\"/mnt/\\\"vmdk\\\"/v\\\\1\",\"\"]");
  free (s);
}
