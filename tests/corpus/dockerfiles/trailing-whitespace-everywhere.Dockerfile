FROM alpine:3.19.1   
RUN apk add --no-cache curl=8.5.0-r0 \  
    jq=1.7.1-r0	
WORKDIR /app 
COPY . . 	
CMD ["sh"]  
