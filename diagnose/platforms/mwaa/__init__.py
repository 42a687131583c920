"""mwaa"""
