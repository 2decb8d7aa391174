package main

import (
	"testing"

	"github.com/fngate/fngate/shared/testenv"
)

// TestHelpHidesSecrets runs the command's parse with -h in a child process
// (usage goes to its stderr) with secrets in its environment: the output
// shows none of them.
func TestHelpHidesSecrets(t *testing.T) {
	testenv.HelpHidesSecrets(t, func() { _, _ = parse([]string{"-h"}) }, "-redis-sentinel-password",
		[]string{
			"FNGATE_NATS_PASSWORD=nats-hunter2",
			"FNGATE_NATS_URL=nats://worker:url-hunter2@nats-1:4222,nats://tok-hunter2@nats-2:4222",
			"FNGATE_REDIS_URL=redis://:redis-hunter2@redis:6379/0",
			"FNGATE_REDIS_SENTINEL_PASSWORD=sentinel-hunter2",
		},
		"nats://worker:xxxxx@nats-1:4222,nats://xxxxx@nats-2:4222", "redis://:xxxxx@redis:6379/0")
}
