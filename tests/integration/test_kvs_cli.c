/*
 * test_kvs_cli.c: kvs-server and kvs-client as real processes on 127.0.0.1, the acceptance
 * list of talent-plan's tests/cli.rs (sut-semantics.md A.6): client argument validation,
 * versions, the server's startup log, the wrong-engine check, and the end-to-end sequence
 * with the server killed (SIGKILL) and restarted on the same directory, for both engines.
 *
 * The binaries sit beside $SIM_BIN (build/). Each test runs in its own temporary directory
 * (the server's data directory); a port is found by binding port 0; every client call runs
 * under timeout(1), every wait for a server is bounded, and the suite's fini kills whatever
 * server a failed test left running before the directory goes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "../../systems/kv/kv.h"
#include "../cmdtest.h"

#define MAX_SERVERS 8

static pid_t servers[MAX_SERVERS];

static void kill_servers(void)
{
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (servers[i] <= 0) continue;
        kill(servers[i], SIGKILL);
        waitpid(servers[i], NULL, 0);
        servers[i] = 0;
    }
}

static void fini(void)
{
    kill_servers();
    leave_dir();
}

TestSuite(kvs_cli, .init = enter_dir, .fini = fini, .timeout = 60);

/* build/kvs-client or build/kvs-server, beside $SIM_BIN. */
static const char *kvs_bin(const char *name)
{
    static char path[2][1024];
    char *p = path[strcmp(name, "kvs-server") == 0];
    snprintf(p, sizeof path[0], "%s", sim_bin());
    char *slash = strrchr(p, '/');
    cr_assert(ne(ptr, slash, NULL));
    snprintf(slash + 1, sizeof path[0] - (size_t)(slash + 1 - p), "%s", name);
    cr_assert(eq(int, access(p, X_OK), 0), "%s is not built", p);
    return p;
}

/* `kvs-client ARGS` under a 10 s timeout, stdout in .text and stderr in .err. */
static out client(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "timeout 10 %s %s", kvs_bin("kvs-client"), args);
    out o = sh_with(" 2>client-stderr.txt", cmd);
    size_t len;
    o.err = read_bytes("client-stderr.txt", &len);
    return o;
}

/* A port nobody listens on now. */
static unsigned free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(lt(int, -1, fd));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert(eq(int, bind(fd, (struct sockaddr *)&a, sizeof a), 0));
    socklen_t len = sizeof a;
    cr_assert(eq(int, getsockname(fd, (struct sockaddr *)&a, &len), 0));
    close(fd);
    return ntohs(a.sin_port);
}

static bool can_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

/* Starts kvs-server with args (NULL-terminated, argv[0] excluded), stderr to log. */
static pid_t server_start(const char *log, const char *const *args)
{
    const char *argv[16] = {kvs_bin("kvs-server")};
    size_t n = 1;
    for (; args[n - 1] != NULL; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert(ne(int, pid, -1));
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) _exit(126);
        dup2(fd, 2);
        close(fd);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (servers[i] == 0) {
            servers[i] = pid;
            return pid;
        }
    }
    kill(pid, SIGKILL);
    cr_assert(false, "more than %d servers", MAX_SERVERS);
    return pid;
}

static void forget(pid_t pid)
{
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (servers[i] == pid) servers[i] = 0;
    }
}

/* The exit code of a server expected to stop by itself within 5 s; -1 when a signal ended
 * it. A server still running fails the test. */
static int server_exit(pid_t pid)
{
    for (int i = 0; i < 500; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            forget(pid);
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        nap_ms(10);
    }
    cr_assert(false, "the server did not exit within 5 s");
    return -1;
}

/* Waits (at most 5 s) until the server accepts connections on port. */
static void server_ready(pid_t pid, unsigned port)
{
    for (int i = 0; i < 500; i++) {
        if (can_connect(port)) return;
        int st;
        cr_assert(eq(int, waitpid(pid, &st, WNOHANG), 0), "the server exited early");
        nap_ms(10);
    }
    cr_assert(false, "the server did not listen on %u within 5 s", port);
}

static void server_kill(pid_t pid, int sig)
{
    kill(pid, sig);
    waitpid(pid, NULL, 0);
    forget(pid);
}

/* Starts a server on a free port with engine (or none: NULL) and waits until it listens. */
static pid_t server_up(const char *engine, unsigned *port, const char *log)
{
    *port = free_port();
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", *port);
    pid_t pid = engine ? server_start(log, (const char *[]){"--engine", engine, "--addr", addr,
                                                            NULL})
                       : server_start(log, (const char *[]){"--addr", addr, NULL});
    server_ready(pid, *port);
    return pid;
}

/* ---- the client's arguments ------------------------------------------------------------------ */

static void client_fails(const char *args)
{
    out o = client(args);
    cr_assert(ne(int, o.status, 0), "kvs-client %s exited 0", args);
    cr_assert(ne(int, o.status, 124), "kvs-client %s timed out", args);
    cr_assert(ne(ptr, strstr(o.err, "kvs-client"), NULL), "kvs-client %s: %s", args, o.err);
    out_free(&o);
}

/* Goal: the client refuses every malformed command line of cli.rs, with a message on stderr
 * and a non-zero exit, before it connects anywhere. */
Test(kvs_cli, client_cli_invalid_args)
{
    const char *bad[] = {"", "get", "get extra field", "get key --addr invalid-addr",
                         "get key --unknown-flag", "set", "set missing_field",
                         "set key value extra_field", "set key value --addr invalid-addr",
                         "set key value --unknown-flag", "rm", "rm extra field",
                         "rm key --addr invalid-addr", "rm key --unknown-flag", "unknown",
                         "get key --addr 127.0.0.1", "get key --addr 127.0.0.1:0",
                         "get key --addr 127.0.0.1:70000", "get key --addr ::1:4000",
                         "get key --addr"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) client_fails(bad[i]);
}

/* Goal: -V prints the version on stdout, for both binaries. */
Test(kvs_cli, cli_version)
{
    out o = client("-V");
    cr_assert(eq(int, o.status, 0));
    cr_assert(ne(ptr, strstr(o.text, "kvs-client " SIM_VERSION_STRING), NULL), "%s", o.text);
    out_free(&o);
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "%s -V", kvs_bin("kvs-server"));
    o = sh_with(" 2>/dev/null", cmd);
    cr_assert(eq(int, o.status, 0));
    cr_assert(ne(ptr, strstr(o.text, "kvs-server " SIM_VERSION_STRING), NULL), "%s", o.text);
    out_free(&o);
}

/* Goal: the client against an address nobody listens on reports an error on stderr naming the
 * address and what to check, and exits 1, stdout empty. */
Test(kvs_cli, client_no_server)
{
    char args[64], where[64];
    unsigned port = free_port();
    snprintf(args, sizeof args, "get key --addr 127.0.0.1:%u", port);
    snprintf(where, sizeof where, "(connecting to 127.0.0.1:%u; is kvs-server running there?)",
             port);
    out o = client(args);
    cr_assert(eq(int, o.status, 1), "%s", o.err);
    cr_assert(eq(str, o.text, ""));
    cr_assert(ne(ptr, strstr(o.err, "IO error: "), NULL), "%s", o.err);
    cr_assert(ne(ptr, strstr(o.err, where), NULL), "%s", o.err);
    out_free(&o);
}

/* ---- the server's start ---------------------------------------------------------------------- */

/* Goal: the server's arguments are checked before it starts: a bad address, an unknown
 * engine and an unknown option each exit non-zero with a message, and write no engine file. */
Test(kvs_cli, server_cli_invalid_args)
{
    const char *bad[] = {"--addr invalid-addr", "--engine sled", "--engine", "--unknown",
                         "--addr 127.0.0.1:99999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "timeout 10 %s %s", kvs_bin("kvs-server"), bad[i]);
        out o = sh("%s", cmd);
        cr_assert(ne(int, o.status, 0), "kvs-server %s exited 0", bad[i]);
        cr_assert(ne(int, o.status, 124), "kvs-server %s did not exit", bad[i]);
        cr_assert(ne(ptr, strstr(o.text, "kvs-server"), NULL), "%s", o.text);
        out_free(&o);
    }
    cr_assert(eq(int, exists("engine"), false));
}

/* Goal: cli_log_configuration: once listening, the server's stderr names its version, the
 * engine and the address; the engine file says kvs. */
Test(kvs_cli, cli_log_configuration)
{
    unsigned port;
    pid_t pid = server_up("kvs", &port, "server.log");
    server_kill(pid, SIGTERM);
    size_t len;
    char *log = read_bytes("server.log", &len);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    cr_assert(ne(ptr, strstr(log, "kvs-server " SIM_VERSION_STRING), NULL), "%s", log);
    cr_assert(ne(ptr, strstr(log, "Storage engine: kvs"), NULL), "%s", log);
    cr_assert(ne(ptr, strstr(log, addr), NULL), "%s", log);
    char *engine = read_bytes("engine", &len);
    cr_assert(eq(str, engine, "kvs"));
}

/* One direction of cli_wrong_engine: first, then second in the same directory. */
static void wrong_engine(const char *first, const char *second)
{
    unsigned port;
    pid_t pid = server_up(first, &port, "first.log");
    server_kill(pid, SIGTERM);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", free_port());
    pid = server_start("second.log", (const char *[]){"--engine", second, "--addr", addr, NULL});
    cr_assert(ne(int, server_exit(pid), 0));
    size_t len;
    char *log = read_bytes("second.log", &len);
    cr_assert(ne(ptr, strstr(log, "Wrong engine!"), NULL), "%s", log);
    /* Without --engine the persisted one is used. */
    pid = server_up(NULL, &port, "third.log");
    server_kill(pid, SIGTERM);
    log = read_bytes("third.log", &len);
    char want[64];
    snprintf(want, sizeof want, "Storage engine: %s", first);
    cr_assert(ne(ptr, strstr(log, want), NULL), "%s", log);
}

/* Goal: cli_wrong_engine: data written by one engine refuses the other, both ways. */
Test(kvs_cli, cli_wrong_engine_sqlite_then_kvs)
{
    wrong_engine("sqlite", "kvs");
}

Test(kvs_cli, cli_wrong_engine_kvs_then_sqlite)
{
    wrong_engine("kvs", "sqlite");
}

/* Goal: an engine file the server cannot read is warned about and treated as absent. */
Test(kvs_cli, server_engine_file_unreadable)
{
    write_file("engine", "rocksdb\n");
    unsigned port;
    pid_t pid = server_up("sqlite", &port, "server.log");
    server_kill(pid, SIGTERM);
    size_t len;
    char *log = read_bytes("server.log", &len);
    cr_assert(ne(ptr, strstr(log, "WARN"), NULL), "%s", log);
    cr_assert(eq(str, read_bytes("engine", &len), "sqlite"));
}

/* Goal: a server whose address is taken exits 1 with an error, it does not hang. */
Test(kvs_cli, server_address_in_use)
{
    unsigned port;
    pid_t pid = server_up("kvs", &port, "first.log");
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    mkdir("other", 0755);
    cr_assert(eq(int, chdir("other"), 0));
    pid_t second = server_start("second.log", (const char *[]){"--addr", addr, NULL});
    cr_assert(eq(int, server_exit(second), 1));
    size_t len;
    char *log = read_bytes("second.log", &len);
    cr_assert(ne(ptr, strstr(log, "ERROR"), NULL), "%s", log);
    cr_assert(eq(int, chdir(".."), 0));
    server_kill(pid, SIGTERM);
}

/* ---- end to end ------------------------------------------------------------------------------ */

static void expect_client(const char *args, unsigned port, int status, const char *stdout_has,
                          const char *stderr_has)
{
    char full[512];
    snprintf(full, sizeof full, "%s --addr 127.0.0.1:%u", args, port);
    out o = client(full);
    cr_assert(eq(int, o.status, status), "kvs-client %s: exit %d, stderr %s", full, o.status,
              o.err);
    if (stdout_has != NULL && stdout_has[0] == '\0') {
        cr_assert(eq(str, o.text, ""), "kvs-client %s", full);
    } else if (stdout_has != NULL) {
        cr_assert(ne(ptr, strstr(o.text, stdout_has), NULL), "kvs-client %s: '%s'", full,
                  o.text);
    }
    if (stderr_has != NULL) {
        cr_assert(ne(ptr, strstr(o.err, stderr_has), NULL), "kvs-client %s: '%s'", full, o.err);
    }
    out_free(&o);
}

/* cli_access_server_{kvs,sled}: the sequence of cli.rs, the kill a SIGKILL. */
static void access_server(const char *engine)
{
    unsigned port;
    pid_t pid = server_up(engine, &port, "server.log");
    expect_client("set key1 value1", port, 0, "", NULL);
    expect_client("get key1", port, 0, "value1\n", NULL);
    expect_client("set key1 value2", port, 0, "", NULL);
    expect_client("get key1", port, 0, "value2\n", NULL);
    expect_client("get key2", port, 0, "Key not found", NULL);
    expect_client("rm key2", port, 1, "", "Key not found");
    expect_client("set key2 value3", port, 0, "", NULL);
    expect_client("rm key1", port, 0, "", NULL);
    server_kill(pid, SIGKILL);
    pid = server_up(engine, &port, "server2.log");
    expect_client("get key2", port, 0, "value3", NULL);
    expect_client("get key1", port, 0, "Key not found", NULL);
    /* An empty value and one with spaces come back exactly. */
    expect_client("set 'key 3' ''", port, 0, "", NULL);
    expect_client("get 'key 3'", port, 0, NULL, NULL);
    expect_client("set k 'a b  c'", port, 0, "", NULL);
    expect_client("get k", port, 0, "a b  c\n", NULL);
    server_kill(pid, SIGTERM);
}

/* Goal: cli_access_server_kvs_engine: set, get, overwrite, misses, rm, and after the server
 * is killed and restarted on the same directory the data is still there. */
Test(kvs_cli, cli_access_server_kvs_engine)
{
    access_server("kvs");
}

/* Goal: the same over the sqlite engine (the reference's sled). */
Test(kvs_cli, cli_access_server_sqlite_engine)
{
    access_server("sqlite");
}

/* Goal: IPv6: a server on [::1] answers a client given the bracketed address. */
Test(kvs_cli, ipv6_loopback)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0) close(fd);
        cr_skip_test("no IPv6 loopback here");
    }
    socklen_t len = sizeof a;
    cr_assert(eq(int, getsockname(fd, (struct sockaddr *)&a, &len), 0));
    close(fd);
    unsigned port = ntohs(a.sin6_port);
    char addr[32], args[64];
    snprintf(addr, sizeof addr, "[::1]:%u", port);
    pid_t pid = server_start("server.log", (const char *[]){"--addr", addr, NULL});
    snprintf(args, sizeof args, "set a 1 --addr %s", addr);
    out o = {0};
    for (int i = 0; i < 500; i++) { /* until it listens */
        out_free(&o);
        o = client(args);
        if (o.status == 0) break;
        nap_ms(10);
    }
    cr_assert(eq(int, o.status, 0), "%s", o.err);
    out_free(&o);
    snprintf(args, sizeof args, "get a --addr=%s", addr);
    o = client(args);
    cr_assert(eq(str, o.text, "1\n"), "%s", o.err);
    out_free(&o);
    server_kill(pid, SIGTERM);
}

/* ---- compaction, over the wire --------------------------------------------------------------- */

/* A connection to 127.0.0.1:port for raw requests. */
static int raw_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert(eq(int, connect(fd, (struct sockaddr *)&a, sizeof a), 0));
    return fd;
}

static void raw_io(int fd, void *buf, size_t n, bool write_it)
{
    for (size_t done = 0; done < n;) {
        ssize_t k = write_it ? write(fd, (char *)buf + done, n - done)
                             : read(fd, (char *)buf + done, n - done);
        cr_assert(lt(sz, 0, (size_t)(k > 0 ? k : 0)), "the connection broke");
        done += (size_t)k;
    }
}

/* One request over fd; the decoded answer's kind, the value (a get's) in value. */
static uint8_t raw_call(int fd, uint8_t kind, const char *key, const char *value, char *got,
                        size_t got_size)
{
    kv_message m = {.kind = kind, .key = key, .klen = (uint32_t)strlen(key), .value = value,
                    .vlen = value ? (uint32_t)strlen(value) : 0};
    static uint8_t buf[4 + KV_FRAME_MAX];
    uint32_t len = 0;
    cr_assert(eq(int, kv_request_encode(&m, buf + 4, KV_FRAME_MAX, &len), SIM_OK));
    uint32_t be = htonl(len);
    memcpy(buf, &be, 4);
    raw_io(fd, buf, 4 + len, true);
    raw_io(fd, &be, 4, false);
    len = ntohl(be);
    cr_assert(lt(u32, len, KV_FRAME_MAX + 1));
    raw_io(fd, buf, len, false);
    cr_assert(eq(int, kv_response_decode(buf, len, &m), SIM_OK));
    if (got != NULL) {
        size_t n = m.found && m.vlen < got_size ? m.vlen : 0;
        memcpy(got, m.value, n);
        got[n] = '\0';
    }
    return m.kind;
}

/* Bytes of the generation files (<gen>.log) in the current directory. */
static uint64_t log_bytes(void)
{
    out o = sh("cat ./[0-9]*.log 2>/dev/null | wc -c");
    uint64_t n = strtoull(o.text, NULL, 10);
    out_free(&o);
    return n;
}

/* Goal: kv_store.rs's compaction, on the real server: overwriting the same 100 keys round
 * after round, the generation files' total size stops growing at some round (compaction
 * rewrote the live records and deleted the old files) well before 1 MiB of stale records
 * pile up twice; after a SIGKILL and a restart every key holds the last round's value.
 * Values of 1 KiB, so that about a dozen rounds reach the 1 MiB threshold. Bounded: at most
 * 400 rounds of 100 sets. */
Test(kvs_cli, compaction_by_directory_size)
{
    unsigned port;
    pid_t pid = server_up("kvs", &port, "server.log");
    int fd = raw_connect(port);
    char key[16], value[1100];
    uint64_t before = 0;
    int round = 0;
    bool compacted = false;
    for (; round < 400 && !compacted; round++) {
        for (int k = 0; k < 100; k++) {
            snprintf(key, sizeof key, "key%d", k);
            snprintf(value, sizeof value, "%01024d", round);
            cr_assert(eq(int, raw_call(fd, KV_MSG_SET, key, value, NULL, 0), KV_MSG_SET));
        }
        uint64_t now = log_bytes();
        compacted = round > 0 && now < before;
        before = now;
    }
    cr_assert(compacted, "no compaction detected after %d rounds", round);
    cr_assert(lt(u64, before, 1u << 21), "%llu bytes after compaction",
              (unsigned long long)before);
    close(fd);
    server_kill(pid, SIGKILL);
    pid = server_up("kvs", &port, "server2.log");
    fd = raw_connect(port);
    char want[1100], got[1100];
    snprintf(want, sizeof want, "%01024d", round - 1);
    for (int k = 0; k < 100; k++) {
        snprintf(key, sizeof key, "key%d", k);
        cr_assert(eq(int, raw_call(fd, KV_MSG_GET, key, NULL, got, sizeof got), KV_MSG_GET));
        cr_assert(eq(str, got, want), "%s", key);
    }
    close(fd);
    server_kill(pid, SIGTERM);
}

/* ---- a recorded run (--record) --------------------------------------------------------------- */

/* "#xxxxxxxx": the digest a net event shows of a request's bytes (sim_hash, low 32 bits). */
static void request_digest(uint8_t kind, const char *key, const char *value, char *buf,
                           size_t size)
{
    kv_message m = {.kind = kind, .key = key, .klen = (uint32_t)strlen(key), .value = value,
                    .vlen = value ? (uint32_t)strlen(value) : 0};
    uint8_t frame[256];
    uint32_t len = 0;
    cr_assert(eq(int, kv_request_encode(&m, frame, sizeof frame, &len), SIM_OK));
    snprintf(buf, size, "#%08x", (unsigned)(uint32_t)sim_hash(frame, len, 0));
}

/* One engine's recorded run: set and get, SIGTERM; then what the sim command makes of it. */
static void recorded_run(const char *engine)
{
    unsigned port = free_port();
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    pid_t pid = server_start("server.log", (const char *[]){"--engine", engine, "--addr", addr,
                                                            "--record", "run.db", NULL});
    server_ready(pid, port);
    expect_client("set a 1", port, 0, "", NULL);
    expect_client("get a", port, 0, "1\n", NULL);
    kill(pid, SIGTERM);
    cr_assert(eq(int, server_exit(pid), 0), "a recorded server stopped by SIGTERM exits 0");
    size_t len;
    char *log = read_bytes("server.log", &len);
    cr_assert(ne(ptr, strstr(log, "INFO Recording to run.db (run 1)"), NULL), "%s", log);
    sim_expect(0, WORDS("kvs-server", "stopped", "events (host)", "1 run(s)"), "list --db run.db");
    char set_req[16], get_req[16];
    request_digest(KV_MSG_SET, "a", "1", set_req, sizeof set_req);
    request_digest(KV_MSG_GET, "a", NULL, get_req, sizeof get_req);
    /* The requests as the server read them: a connection each, a frame of 4 + body bytes. */
    sim_expect(0, WORDS("run 1: kvs-server seed 1, stopped", "net-deliver", "kv-conn",
                        "syn kvs-server:", "data kvs-server:", "13 bytes", set_req, get_req,
                        "net-send"),
               "show --db run.db 1");
    sim_expect(0, WORDS("run 1: kvs-server seed 1, stopped; the causal slice"),
               "explain --db run.db 1");
    /* Stopped, the server was waiting for connections: the report names the socket. */
    char accept[80];
    snprintf(accept, sizeof accept, "accept on host socket kvs-server:%u", port);
    sim_expect(0, WORDS("stopped at ", "task(s) unfinished", "kv-server", accept,
                        "a host run: it cannot be replayed"),
               "show --db run.db 1 --report");
    sim_expect(0, WORDS("wrote run.html: run 1"), "viz --db run.db 1 -o run.html");
    cr_assert(exists("run.html"));
    out o = sim_split("replay --db run.db 1");
    cr_assert(eq(int, o.status, 2), "%s%s", o.text, o.err);
    cr_assert(ne(ptr, strstr(o.err, "run 1 is a host run (kvs-server"), NULL), "%s", o.err);
    cr_assert(ne(ptr, strstr(o.err, "cannot be replayed"), NULL), "%s", o.err);
    cr_assert(eq(ptr, strchr(o.err, '\n'), o.err + strlen(o.err) - 1), "one line: %s", o.err);
    out_free(&o);
    cr_assert(eq(u64, sql_u64("run.db", "SELECT count(*) FROM runs WHERE backend = 'host' AND "
                                        "status = 'done' AND events_stored = 1"), 1));
}

/* Goal: kvs-server --record FILE records its run for the sim command: sim list marks it a
 * host run, sim show lists the requests it served (their digests), its hang report names the
 * socket the server was waiting on when SIGTERM stopped it, sim explain and viz read it, sim
 * replay refuses it in one line saying why. Method: a real server with each engine
 * on a free port, a set and a get with kvs-client, SIGTERM, then the commands. */
Test(kvs_cli, record_kvs_engine)
{
    recorded_run("kvs");
}

Test(kvs_cli, record_sqlite_engine)
{
    recorded_run("sqlite");
}

/* Goal: --record on a file that cannot be a trace database is an ERROR line naming it and
 * exit 1, before the server listens. */
Test(kvs_cli, record_bad_database)
{
    write_file("not.db", "plain text, not SQLite");
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", free_port());
    pid_t pid = server_start("server.log", (const char *[]){"--addr", addr, "--record",
                                                            "not.db", NULL});
    cr_assert(eq(int, server_exit(pid), 1));
    size_t len;
    char *log = read_bytes("server.log", &len);
    cr_assert(ne(ptr, strstr(log, "ERROR cannot record to not.db: not.db: "), NULL), "%s", log);
}
