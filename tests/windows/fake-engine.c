/* A fake Docker engine for vdvsd.exe's engine client, under wine: serves
 * \\.\pipe\docker_engine (or argv[2]) and answers every connection as
 * MODE says, printing each request line on stdout.
 *   ok         the canned container list below, chunked as Go sends it
 *   garbage    a line that is no HTTP, then close
 *   truncated  a 200 whose body stops early, then close
 *   hang       read the request, never answer
 *   huge       a Content-Length of 100 GB
 *   stream     chunked data without end (until the client goes)
 *   error      a 500 with the engine's {"message":...} */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

/* Three containers: a running one using esxvol (by the vsphere driver,
 * plus a bind and a local volume), a created one also using esxvol, and
 * a paused one using other@datastore1 through a mount-root Source. */
static const char containers[] =
    "[{\"Id\":\"c1\",\"Created\":1700000000,\"State\":\"running\","
    "\"Mounts\":[{\"Type\":\"volume\",\"Name\":\"esxvol\",\"Source\":\"\","
    "\"Driver\":\"vsphere\"},{\"Type\":\"bind\",\"Source\":\"C:\\\\x\"},"
    "{\"Type\":\"volume\",\"Name\":\"loc\",\"Driver\":\"local\"}]},"
    "{\"Id\":\"c2\",\"Created\":1700000001,\"State\":\"created\","
    "\"Mounts\":[{\"Type\":\"volume\",\"Name\":\"esxvol\",\"Source\":\"\","
    "\"Driver\":\"vsphere\"}]},"
    "{\"Id\":\"c3\",\"Created\":1700000002,\"State\":\"paused\","
    "\"Mounts\":[{\"Type\":\"volume\",\"Name\":\"other\",\"Source\":\"\","
    "\"Driver\":\"vsphere\"}]}]";

static const char *mode;

static BOOL
put (HANDLE h, const char *s, size_t n)
{
  DWORD w;
  return WriteFile (h, s, (DWORD) n, &w, NULL) && w == n;
}

static DWORD WINAPI
serve (LPVOID arg)
{
  HANDLE h = arg;
  char req[8192], buf[512];
  DWORD n = 0, got;

  /* The request head. */
  while (n < sizeof req - 1 && ReadFile (h, req + n, 1, &got, NULL)
         && got == 1)
    {
      n++;
      if (n >= 4 && memcmp (req + n - 4, "\r\n\r\n", 4) == 0)
        break;
    }
  req[n] = '\0';
  if (strchr (req, '\r'))
    *strchr (req, '\r') = '\0';
  printf ("request: %s\n", req);
  fflush (stdout);
  if (strcmp (mode, "ok") == 0)
    {
      size_t half = sizeof containers / 2, len = sizeof containers - 1;
      const char *head = "HTTP/1.1 200 OK\r\nApi-Version: 1.47\r\n"
                         "Content-Type: application/json\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n";
      put (h, head, strlen (head));
      snprintf (buf, sizeof buf, "%zx\r\n", half);
      put (h, buf, strlen (buf));
      put (h, containers, half);
      snprintf (buf, sizeof buf, "\r\n%zx\r\n", len - half);
      put (h, buf, strlen (buf));
      put (h, containers + half, len - half);
      put (h, "\r\n0\r\n\r\n", 7);
    }
  else if (strcmp (mode, "garbage") == 0)
    put (h, "SSH-2.0-OpenSSH_9.2\r\n\r\n", 23);
  else if (strcmp (mode, "truncated") == 0)
    {
      const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n[{\"Id\"";
      put (h, r, strlen (r));
    }
  else if (strcmp (mode, "hang") == 0)
    Sleep (INFINITE);
  else if (strcmp (mode, "huge") == 0)
    {
      const char *r =
          "HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n[";
      put (h, r, strlen (r));
    }
  else if (strcmp (mode, "stream") == 0)
    {
      static char chunk[65536 + 16];
      const char *r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
      put (h, r, strlen (r));
      memcpy (chunk, "10000\r\n", 7);
      memset (chunk + 7, ' ', 65536);
      memcpy (chunk + 7 + 65536, "\r\n", 2);
      while (put (h, chunk, 7 + 65536 + 2))
        ;
    }
  else
    {
      const char *r = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: "
                      "28\r\n\r\n{\"message\":\"engine on fire\"}";
      put (h, r, strlen (r));
    }
  FlushFileBuffers (h);
  DisconnectNamedPipe (h);
  CloseHandle (h);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *name = argc > 2 ? argv[2] : "\\\\.\\pipe\\docker_engine";

  if (argc < 2)
    {
      fprintf (stderr,
               "usage: %s ok|garbage|truncated|hang|huge|stream|"
               "error [PIPE]\n",
               argv[0]);
      return 2;
    }
  mode = argv[1];
  for (;;)
    {
      HANDLE h = CreateNamedPipeA (name, PIPE_ACCESS_DUPLEX,
                                   PIPE_TYPE_BYTE | PIPE_READMODE_BYTE
                                       | PIPE_WAIT,
                                   PIPE_UNLIMITED_INSTANCES, 65536, 65536, 0,
                                   NULL);
      if (h == INVALID_HANDLE_VALUE)
        {
          fprintf (stderr, "CreateNamedPipe %s: error %lu\n", name,
                   GetLastError ());
          return 1;
        }
      printf ("listening\n");
      fflush (stdout);
      if (!ConnectNamedPipe (h, NULL)
          && GetLastError () != ERROR_PIPE_CONNECTED)
        {
          CloseHandle (h);
          continue;
        }
      CloseHandle (CreateThread (NULL, 0, serve, h, 0, NULL));
    }
}
