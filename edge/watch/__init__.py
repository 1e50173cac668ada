"""Finding files that are ready: watcher, settle tracker, ignore rules, scans."""
