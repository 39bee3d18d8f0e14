# TODO: write the Dockerfile for the billing service
