"""relay's own HTTP/1.1 server and upstream client on uvloop protocols and llhttp (httptools)."""
