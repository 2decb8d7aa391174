// Package natsserver starts the NATS server that a gateway embeds when no
// FNGATE_NATS_URL is given, with JetStream on a file store. Tests use it too,
// through package testenv, with port -1 and a temporary store.
package natsserver
