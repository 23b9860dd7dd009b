# The swarm image: the static binary and CA certificates, nothing else. Built by `make image`.
FROM scratch
COPY swarm /swarm
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
EXPOSE 2375
ENTRYPOINT ["/swarm"]
CMD ["--help"]
