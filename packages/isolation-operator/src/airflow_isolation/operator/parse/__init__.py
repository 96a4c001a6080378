"""Parse time: what is checked and learnt of a task when its DAG file is parsed (arguments, the
wrapped operator's class and signature, a wrapped sensor's traits), so mistakes fail there."""
