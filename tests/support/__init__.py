"""Helpers shared by the test folders: the ComfyUI test server, golden data readers, prompt builders, face fixtures."""
