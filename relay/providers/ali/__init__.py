"""Alibaba Cloud Model Studio / DashScope (new-api channel type 17 "Ali"), compatible mode."""
