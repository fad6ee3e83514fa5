-- Where the agents of a plan send flow batches: NULL = the console, else an aggregator or NATS URL.
ALTER TABLE "plans" ADD COLUMN "flow_destination" TEXT;
