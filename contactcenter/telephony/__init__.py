"""Telephony adapters: FastAGI server, AMI client, and their translation to domain events."""
