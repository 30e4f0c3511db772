/*
 * kmock.c - a throwaway Kafka cluster for tests and the demo: librdkafka's
 * built-in mock cluster, topics pre-created, the bootstrap address written
 * to a file, and faults injected by commands written to a control FIFO.
 *
 * It deliberately does not persist anything (a restart is an empty cluster
 * on new ports), has no TLS or SASL, and keeps at most 5 MB or 100,000
 * message sets per partition: older data is dropped from the log start,
 * so a consumer that lags further than that sees OFFSET_OUT_OF_RANGE.
 *
 *   kmock [--brokers N] [--partitions N] [--topic NAME[:PARTITIONS]]...
 *         [--no-default-topics] [--bootstrap-file PATH] [--control FIFO]
 *         [--reply-file PATH] [--debug CATEGORIES]
 *
 * Control commands, one per line (see usage()); each applied command is
 * logged to stderr and, with --reply-file, its outcome replaces that file
 * as "SEQ ok|error COMMAND[: reason]" so a writer can wait for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define KMOCK_MAX_TOPICS 256
#define KMOCK_LINE_MAX 1024
/* ApiKeys 0..KMOCK_APIKEY_MAX are cleared by `reset`. */
#define KMOCK_APIKEY_MAX 80

static const char *const kmock_default_topics[] = {
	"hazard.readings",  "hazard.status",      "hazard.reports",
	"hazard.warnings",  "hazard.commands",    "hazard.tickets",
	"hazard.escalations", "hazard.command-results", "hazard.ratings",
	"hazard.deadletter",
};

/* The Kafka protocol ApiKeys a fault test is likely to name. */
static const struct {
	const char *name;
	int16_t key;
} kmock_apikeys[] = {
	{"Produce", 0},          {"Fetch", 1},           {"ListOffsets", 2},
	{"Metadata", 3},         {"OffsetCommit", 8},    {"OffsetFetch", 9},
	{"FindCoordinator", 10}, {"JoinGroup", 11},      {"Heartbeat", 12},
	{"LeaveGroup", 13},      {"SyncGroup", 14},      {"DescribeGroups", 15},
	{"ListGroups", 16},      {"ApiVersions", 18},    {"CreateTopics", 19},
	{"InitProducerId", 22},  {"AddPartitionsToTxn", 24},
	{"AddOffsetsToTxn", 25}, {"EndTxn", 26},         {"TxnOffsetCommit", 28},
	{"OffsetDelete", 47},
};

struct kmock_topic {
	char *name;
	int partitions;
};

struct kmock {
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	int brokers;
	struct kmock_topic topics[KMOCK_MAX_TOPICS];
	int ntopics;
	const char *control;   /* FIFO path or NULL */
	const char *reply;     /* reply file path or NULL */
	int ctl_fd;            /* read end */
	int ctl_keep_fd;       /* our own write end, so readers never see EOF */
	char line[KMOCK_LINE_MAX];
	size_t linelen;
	int discarding;        /* dropping the rest of an over-long line */
	unsigned long seq;     /* commands processed */
	int quit;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kmock [options]\n"
		"  -b, --brokers N          mock brokers, ids 1..N (default 3)\n"
		"  -p, --partitions N       partitions of each default topic (default 8)\n"
		"  -t, --topic NAME[:P]     add or override a topic (repeatable)\n"
		"      --no-default-topics  do not create the hazard.* topics\n"
		"  -f, --bootstrap-file F   write the bootstrap address to F once ready\n"
		"  -c, --control FIFO       read control commands from FIFO (created)\n"
		"  -r, --reply-file F       write \"SEQ ok|error CMD\" to F after each command\n"
		"  -d, --debug CATS         librdkafka debug categories (e.g. mock,protocol)\n"
		"control commands:\n"
		"  down ID | up ID | rtt ID MS | leader TOPIC PARTITION ID\n"
		"  errors APIKEY COUNT ERR      next COUNT requests of APIKEY fail with ERR\n"
		"  clear APIKEY                 drop queued request errors of APIKEY\n"
		"  topic NAME PARTITIONS        create a topic\n"
		"  topic-error TOPIC ERR        metadata error for TOPIC (0 clears)\n"
		"  coordinator group|transaction KEY ID\n"
		"  reset                        all brokers up, rtt 0, request errors cleared\n"
		"  quit\n"
		"APIKEY is a number or a name (Fetch, OffsetCommit, Heartbeat, ...);\n"
		"ERR is a number or a name (NOT_LEADER_FOR_PARTITION, ...).\n");
}

static void kmock_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void kmock_log(const char *fmt, ...)
{
	va_list ap;

	fputs("kmock: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/* librdkafka's log, minus the warning that our own handle has no
 * bootstrap.servers: it only hosts the mock cluster and never connects. */
static void kmock_rdlog(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "bootstrap.servers"))
		return;
	fprintf(stderr, "kmock: rdkafka %d %s: %s\n", level, fac, buf);
	fflush(stderr);
}

/* Parse a whole decimal integer within [lo, hi]. */
static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_apikey(const char *s, int16_t *key)
{
	long v;
	size_t i;

	if (parse_int(s, 0, INT16_MAX, &v) == 0) {
		*key = (int16_t)v;
		return 0;
	}
	for (i = 0; i < sizeof(kmock_apikeys) / sizeof(kmock_apikeys[0]); i++) {
		if (s && strcasecmp(s, kmock_apikeys[i].name) == 0) {
			*key = kmock_apikeys[i].key;
			return 0;
		}
	}
	return -1;
}

static int parse_err(const char *s, rd_kafka_resp_err_t *err)
{
	const struct rd_kafka_err_desc *descs;
	size_t n, i;
	long v;

	if (parse_int(s, INT_MIN, INT_MAX, &v) == 0) {
		*err = (rd_kafka_resp_err_t)v;
		return 0;
	}
	if (!s)
		return -1;
	if (strncasecmp(s, "RD_KAFKA_RESP_ERR_", 18) == 0)
		s += 18;
	rd_kafka_get_err_descs(&descs, &n);
	for (i = 0; i < n; i++) {
		if (descs[i].name && strcasecmp(descs[i].name, s) == 0) {
			*err = descs[i].code;
			return 0;
		}
	}
	return -1;
}

static int parse_broker(const struct kmock *km, const char *s, int32_t *id)
{
	long v;

	if (parse_int(s, 1, km->brokers, &v) != 0)
		return -1;
	*id = (int32_t)v;
	return 0;
}

/* Remember or update a topic; returns its slot or -1 when full. */
static int topic_add(struct kmock *km, const char *name, int partitions)
{
	int i;

	for (i = 0; i < km->ntopics; i++) {
		if (strcmp(km->topics[i].name, name) == 0) {
			km->topics[i].partitions = partitions;
			return i;
		}
	}
	if (km->ntopics == KMOCK_MAX_TOPICS)
		return -1;
	km->topics[km->ntopics].name = strdup(name);
	if (!km->topics[km->ntopics].name)
		return -1;
	km->topics[km->ntopics].partitions = partitions;
	return km->ntopics++;
}

/* Parse "NAME[:PARTITIONS]". */
static int topic_arg(struct kmock *km, const char *arg, int def_partitions)
{
	char name[256];
	const char *colon = strrchr(arg, ':');
	size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
	long parts = def_partitions;

	if (len == 0 || len >= sizeof(name))
		return -1;
	memcpy(name, arg, len);
	name[len] = '\0';
	if (colon && parse_int(colon + 1, 1, 100000, &parts) != 0)
		return -1;
	return topic_add(km, name, (int)parts) < 0 ? -1 : 0;
}

/*
 * librdkafka 2.0.2's mock thread can miss the wake-up of an operation queued
 * right after the previous one was served (it drains its wake-up pipe after
 * serving), and then only sees it at its next 1 s poll timeout. Most mock
 * calls are such operations, so back-to-back calls took up to a second each.
 * Pausing a few milliseconds before each one lets the drain happen first.
 */
static void mock_settle(void)
{
	struct timespec ts = {0, 3 * 1000 * 1000};

	nanosleep(&ts, NULL);
}

static int replication(const struct kmock *km)
{
	return km->brokers < 3 ? km->brokers : 3;
}

static int write_file_atomic(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	FILE *f;
	int rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	rc = fputs(text, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static void reply(struct kmock *km, int ok, const char *cmd, const char *why)
{
	char buf[KMOCK_LINE_MAX + 256];

	if (ok)
		kmock_log("applied #%lu: %s", km->seq, cmd);
	else
		kmock_log("could not apply #%lu \"%s\": %s", km->seq, cmd, why);
	if (!km->reply)
		return;
	snprintf(buf, sizeof(buf), "%lu %s %s%s%s\n", km->seq, ok ? "ok" : "error",
		 cmd, ok ? "" : ": ", ok ? "" : why);
	if (write_file_atomic(km->reply, buf) != 0)
		kmock_log("could not write reply file \"%s\": %s", km->reply, strerror(errno));
}

static const char *rkerr(rd_kafka_resp_err_t err)
{
	return err ? rd_kafka_err2str(err) : NULL;
}

static const char *cmd_reset(struct kmock *km)
{
	rd_kafka_resp_err_t err;
	int32_t id;
	int16_t key;
	int i;

	for (id = 1; id <= km->brokers; id++) {
		mock_settle();
		err = rd_kafka_mock_broker_set_up(km->mc, id);
		mock_settle();
		if (!err)
			err = rd_kafka_mock_broker_set_rtt(km->mc, id, 0);
		if (err)
			return rd_kafka_err2str(err);
	}
	for (key = 0; key <= KMOCK_APIKEY_MAX; key++)
		rd_kafka_mock_clear_request_errors(km->mc, key);
	for (i = 0; i < km->ntopics; i++) {
		mock_settle();
		rd_kafka_mock_topic_set_error(km->mc, km->topics[i].name,
					      RD_KAFKA_RESP_ERR_NO_ERROR);
	}
	return NULL;
}

/* Apply one command; returns NULL on success or why it failed. */
static const char *cmd_apply(struct kmock *km, int argc, char **argv)
{
	const char *verb = argv[0];
	rd_kafka_resp_err_t err;
	int32_t id;
	int16_t key;
	long v, part;

	mock_settle();
	if (strcmp(verb, "down") == 0 || strcmp(verb, "up") == 0) {
		if (argc != 2 || parse_broker(km, argv[1], &id) != 0)
			return "expected: down|up BROKER_ID (1..brokers)";
		err = verb[0] == 'd' ? rd_kafka_mock_broker_set_down(km->mc, id)
				     : rd_kafka_mock_broker_set_up(km->mc, id);
		return rkerr(err);
	}
	if (strcmp(verb, "rtt") == 0) {
		if (argc != 3 || parse_broker(km, argv[1], &id) != 0 ||
		    parse_int(argv[2], 0, 3600000, &v) != 0)
			return "expected: rtt BROKER_ID MILLISECONDS";
		return rkerr(rd_kafka_mock_broker_set_rtt(km->mc, id, (int)v));
	}
	if (strcmp(verb, "leader") == 0) {
		if (argc != 4 || parse_int(argv[2], 0, INT32_MAX, &part) != 0 ||
		    parse_int(argv[3], -1, km->brokers, &v) != 0)
			return "expected: leader TOPIC PARTITION BROKER_ID (-1 for none)";
		return rkerr(rd_kafka_mock_partition_set_leader(km->mc, argv[1],
								(int32_t)part, (int32_t)v));
	}
	if (strcmp(verb, "errors") == 0) {
		rd_kafka_resp_err_t *errs;
		rd_kafka_resp_err_t code;
		long i;

		if (argc != 4 || parse_apikey(argv[1], &key) != 0 ||
		    parse_int(argv[2], 1, 100000, &v) != 0 || parse_err(argv[3], &code) != 0)
			return "expected: errors APIKEY COUNT ERRCODE";
		errs = calloc((size_t)v, sizeof(*errs));
		if (!errs)
			return "out of memory";
		for (i = 0; i < v; i++)
			errs[i] = code;
		rd_kafka_mock_push_request_errors_array(km->mc, key, (size_t)v, errs);
		free(errs);
		return NULL;
	}
	if (strcmp(verb, "clear") == 0) {
		if (argc != 2 || parse_apikey(argv[1], &key) != 0)
			return "expected: clear APIKEY";
		rd_kafka_mock_clear_request_errors(km->mc, key);
		return NULL;
	}
	if (strcmp(verb, "topic") == 0) {
		if (argc != 3 || parse_int(argv[2], 1, 100000, &v) != 0)
			return "expected: topic NAME PARTITIONS";
		err = rd_kafka_mock_topic_create(km->mc, argv[1], (int)v, replication(km));
		if (!err && topic_add(km, argv[1], (int)v) < 0)
			return "too many topics to remember for reset";
		return rkerr(err);
	}
	if (strcmp(verb, "topic-error") == 0) {
		rd_kafka_resp_err_t code;

		if (argc != 3 || parse_err(argv[2], &code) != 0)
			return "expected: topic-error TOPIC ERRCODE";
		rd_kafka_mock_topic_set_error(km->mc, argv[1], code);
		return NULL;
	}
	if (strcmp(verb, "coordinator") == 0) {
		if (argc != 4 || parse_broker(km, argv[3], &id) != 0 ||
		    (strcmp(argv[1], "group") != 0 && strcmp(argv[1], "transaction") != 0))
			return "expected: coordinator group|transaction KEY BROKER_ID";
		return rkerr(rd_kafka_mock_coordinator_set(km->mc, argv[1], argv[2], id));
	}
	if (strcmp(verb, "reset") == 0)
		return argc == 1 ? cmd_reset(km) : "expected: reset";
	if (strcmp(verb, "quit") == 0) {
		km->quit = 1;
		return NULL;
	}
	return "unknown command (down, up, rtt, leader, errors, clear, topic, "
	       "topic-error, coordinator, reset, quit)";
}

static void cmd_line(struct kmock *km, char *line)
{
	char copy[KMOCK_LINE_MAX];
	char *argv[8], *save = NULL, *tok;
	const char *why;
	int argc = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	for (tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
		if (argc == (int)(sizeof(argv) / sizeof(argv[0]))) {
			km->seq++;
			reply(km, 0, copy, "too many arguments");
			return;
		}
		argv[argc++] = tok;
	}
	if (argc == 0 || argv[0][0] == '#')
		return;
	km->seq++;
	why = cmd_apply(km, argc, argv);
	reply(km, why == NULL, copy, why);
}

static int ctl_open(struct kmock *km)
{
	km->ctl_fd = open(km->control, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (km->ctl_fd < 0) {
		kmock_log("could not open control FIFO \"%s\": %s", km->control, strerror(errno));
		return -1;
	}
	/* Holding a write end ourselves means the read end never reports EOF
	 * when a writer closes, so poll() does not spin on POLLHUP. */
	if (km->ctl_keep_fd < 0)
		km->ctl_keep_fd = open(km->control, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	km->linelen = 0;
	km->discarding = 0;
	return 0;
}

/* Read what is available; returns -1 on a fatal error. */
static int ctl_read(struct kmock *km)
{
	char buf[4096];
	ssize_t n, i;

	n = read(km->ctl_fd, buf, sizeof(buf));
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	if (n == 0) {
		/* All writers gone (only without our own write end): reopen. */
		close(km->ctl_fd);
		km->ctl_fd = -1;
		return ctl_open(km);
	}
	for (i = 0; i < n && !km->quit; i++) {
		if (buf[i] == '\n') {
			if (!km->discarding) {
				km->line[km->linelen] = '\0';
				cmd_line(km, km->line);
			}
			km->linelen = 0;
			km->discarding = 0;
		} else if (km->discarding) {
			continue;
		} else if (km->linelen + 1 >= sizeof(km->line)) {
			km->seq++;
			reply(km, 0, "(over-long line)", "line longer than 1023 bytes ignored");
			km->discarding = 1;
		} else {
			km->line[km->linelen++] = buf[i];
		}
	}
	return 0;
}

static int create_topics(struct kmock *km)
{
	rd_kafka_resp_err_t err;
	int i;

	for (i = 0; i < km->ntopics; i++) {
		mock_settle();
		err = rd_kafka_mock_topic_create(km->mc, km->topics[i].name,
						 km->topics[i].partitions, replication(km));
		if (err) {
			kmock_log("could not create topic \"%s\": %s", km->topics[i].name,
				  rd_kafka_err2str(err));
			return -1;
		}
		kmock_log("topic %s: %d partitions, replication %d", km->topics[i].name,
			  km->topics[i].partitions, replication(km));
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"partitions", required_argument, NULL, 'p'},
		{"topic", required_argument, NULL, 't'},
		{"no-default-topics", no_argument, NULL, 'N'},
		{"bootstrap-file", required_argument, NULL, 'f'},
		{"control", required_argument, NULL, 'c'},
		{"reply-file", required_argument, NULL, 'r'},
		{"debug", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct kmock km;
	const char *bootfile = NULL, *debug = NULL;
	const char *extra[KMOCK_MAX_TOPICS];
	int nextra = 0, defaults = 1, created_fifo = 0, rc = 1, opt, i;
	long partitions = 8, v;
	char errstr[512], *boot = NULL;
	rd_kafka_conf_t *conf;
	sigset_t mask;
	int sfd = -1;

	memset(&km, 0, sizeof(km));
	km.brokers = 3;
	km.ctl_fd = -1;
	km.ctl_keep_fd = -1;

	while ((opt = getopt_long(argc, argv, "b:p:t:f:c:r:d:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			if (parse_int(optarg, 1, 64, &v) != 0) {
				kmock_log("invalid --brokers \"%s\": expected 1..64", optarg);
				return 2;
			}
			km.brokers = (int)v;
			break;
		case 'p':
			if (parse_int(optarg, 1, 100000, &partitions) != 0) {
				kmock_log("invalid --partitions \"%s\"", optarg);
				return 2;
			}
			break;
		case 't':
			if (nextra == KMOCK_MAX_TOPICS) {
				kmock_log("too many --topic options");
				return 2;
			}
			extra[nextra++] = optarg;
			break;
		case 'N':
			defaults = 0;
			break;
		case 'f':
			bootfile = optarg;
			break;
		case 'c':
			km.control = optarg;
			break;
		case 'r':
			km.reply = optarg;
			break;
		case 'd':
			debug = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (defaults) {
		for (i = 0; i < (int)(sizeof(kmock_default_topics) / sizeof(kmock_default_topics[0])); i++)
			topic_add(&km, kmock_default_topics[i], (int)partitions);
	}
	for (i = 0; i < nextra; i++) {
		if (topic_arg(&km, extra[i], (int)partitions) != 0) {
			kmock_log("invalid --topic \"%s\": expected NAME[:PARTITIONS]", extra[i]);
			goto out;
		}
	}

	/* Block the stop signals before librdkafka starts its threads, so they
	 * inherit the mask and only our signalfd sees them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		kmock_log("could not set up signals: %s", strerror(errno));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);

	if (km.control) {
		struct stat st;

		if (mkfifo(km.control, 0600) == 0) {
			created_fifo = 1;
		} else if (errno != EEXIST || stat(km.control, &st) != 0 || !S_ISFIFO(st.st_mode)) {
			kmock_log("could not create control FIFO \"%s\": %s", km.control,
				  errno == EEXIST ? "exists and is not a FIFO" : strerror(errno));
			goto out;
		}
		if (ctl_open(&km) != 0)
			goto out;
	}

	conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, kmock_rdlog);
	if (debug && rd_kafka_conf_set(conf, "debug", debug, errstr, sizeof(errstr)) !=
			     RD_KAFKA_CONF_OK) {
		kmock_log("invalid --debug: %s", errstr);
		rd_kafka_conf_destroy(conf);
		goto out;
	}
	km.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!km.rk) {
		kmock_log("could not create the rdkafka handle: %s", errstr);
		rd_kafka_conf_destroy(conf);
		goto out;
	}
	km.mc = rd_kafka_mock_cluster_new(km.rk, km.brokers);
	if (!km.mc) {
		kmock_log("could not create the mock cluster");
		goto out;
	}
	if (create_topics(&km) != 0)
		goto out;

	boot = malloc(strlen(rd_kafka_mock_cluster_bootstraps(km.mc)) + 2);
	if (!boot)
		goto out;
	sprintf(boot, "%s\n", rd_kafka_mock_cluster_bootstraps(km.mc));
	if (bootfile) {
		if (write_file_atomic(bootfile, boot) != 0) {
			kmock_log("could not write bootstrap file \"%s\": %s", bootfile,
				  strerror(errno));
			goto out;
		}
	} else {
		fputs(boot, stdout);
		fflush(stdout);
	}
	kmock_log("ready: %d brokers at %s (pid %ld)", km.brokers,
		  rd_kafka_mock_cluster_bootstraps(km.mc), (long)getpid());

	while (!km.quit) {
		struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN},
					{.fd = km.ctl_fd, .events = POLLIN}};
		int n = poll(pfd, km.ctl_fd >= 0 ? 2 : 1, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			kmock_log("poll failed: %s", strerror(errno));
			goto out;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				kmock_log("received %s, shutting down", strsignal((int)si.ssi_signo));
				break;
			}
		}
		if (km.ctl_fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP)) &&
		    ctl_read(&km) != 0) {
			kmock_log("could not read control FIFO \"%s\": %s", km.control,
				  strerror(errno));
			goto out;
		}
	}
	rc = 0;

out:
	if (bootfile && km.mc)
		unlink(bootfile);
	/* Takes a second instead of milliseconds about one time in six: a lost
	 * wake-up of librdkafka 2.0.2's internal threads at termination. */
	if (km.mc)
		rd_kafka_mock_cluster_destroy(km.mc);
	if (km.rk)
		rd_kafka_destroy(km.rk);
	if (km.ctl_fd >= 0)
		close(km.ctl_fd);
	if (km.ctl_keep_fd >= 0)
		close(km.ctl_keep_fd);
	if (created_fifo)
		unlink(km.control);
	if (sfd >= 0)
		close(sfd);
	for (i = 0; i < km.ntopics; i++)
		free(km.topics[i].name);
	free(boot);
	if (rc == 0)
		kmock_log("stopped");
	return rc;
}
